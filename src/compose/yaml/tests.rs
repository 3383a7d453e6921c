//! YAML as Compose reads it: scalars, anchors, merge keys, limits, errors.

use super::*;
use crate::compose::node::{MergeTag, Value};

fn one(text: &str) -> Node {
    parse(text, 0).expect("parses").remove(0)
}

#[test]
fn plain_scalars_resolve_like_the_core_schema() {
    let n = one("a: 1\nb: yes\nc: true\nd: 1.5\ne:\nf: '1'\ng: 80:80\nh: 0x1F\n");
    assert_eq!(n.get("a").unwrap().value, Value::Int(1));
    assert_eq!(n.get("b").unwrap().value, Value::Str("yes".into()));
    assert_eq!(n.get("c").unwrap().value, Value::Bool(true));
    assert_eq!(n.get("d").unwrap().value, Value::Float(1.5));
    assert_eq!(n.get("e").unwrap().value, Value::Null);
    assert_eq!(n.get("f").unwrap().value, Value::Str("1".into()));
    assert_eq!(n.get("g").unwrap().value, Value::Str("80:80".into()));
    assert_eq!(n.get("h").unwrap().value, Value::Int(31));
}

#[test]
fn keys_and_values_remember_line_and_column() {
    let n = one("services:\n  web:\n    image: nginx\n");
    let web = n.get("services").unwrap().as_map().unwrap();
    assert_eq!((web[0].key.span.line, web[0].key.span.col), (2, 3));
    let image = n
        .get("services")
        .unwrap()
        .get("web")
        .unwrap()
        .as_map()
        .unwrap();
    assert_eq!((image[0].key.span.line, image[0].key.span.col), (3, 5));
    assert_eq!((image[0].value.span.line, image[0].value.span.col), (3, 12));
}

#[test]
fn merge_keys_single_and_list_form_explicit_keys_win() {
    let n =
        one("x: &a {p: 1, q: 1}\ny: &b {q: 2, r: 2}\nz:\n  <<: [*a, *b]\n  p: 0\nw:\n  <<: *b\n");
    let z = n.get("z").unwrap();
    assert_eq!(z.get("p").unwrap().value, Value::Int(0));
    assert_eq!(z.get("q").unwrap().value, Value::Int(1));
    assert_eq!(z.get("r").unwrap().value, Value::Int(2));
    assert_eq!(n.get("w").unwrap().get("q").unwrap().value, Value::Int(2));
}

#[test]
fn duplicate_keys_are_errors_naming_the_first() {
    let errs = parse("a: 1\nb: 2\na: 3\n", 0).unwrap_err();
    assert_eq!(
        errs[0].message,
        "duplicate key `a` (first defined on line 1)"
    );
    assert_eq!(errs[0].span.unwrap().line, 3);
}

#[test]
fn tabs_in_indentation_are_named() {
    let errs = parse("services:\n\tweb: {}\n", 0).unwrap_err();
    assert!(errs[0].message.contains("tab"));
    assert_eq!(errs[0].span.unwrap().line, 2);
}

#[test]
fn syntax_errors_have_a_position() {
    let errs = parse("a: [1, 2\nb: 3\n", 0).unwrap_err();
    assert!(errs[0].message.starts_with("invalid YAML"));
    assert!(errs[0].span.is_some());
}

#[test]
fn flow_collections_may_close_at_or_left_of_their_key_as_go_yaml_reads_them() {
    let n = one("s:\n  t: [\n      \"a\",\n  ]\n  u: {\nk: v,\n}\n  w: 1\n");
    let s = n.get("s").unwrap();
    let t: Vec<_> = s.get("t").unwrap().as_seq().unwrap().iter().collect();
    assert_eq!(t[0].as_str(), Some("a"));
    let u = s.get("u").unwrap();
    assert_eq!(u.get("k").unwrap().as_str(), Some("v"));
    assert_eq!(s.get("w").unwrap().value, Value::Int(1));
}

#[test]
fn a_quoted_string_in_a_flow_collection_may_go_on_left_of_its_key() {
    let n = one("s:\n  t: [\"one\n two\", \"x\n\ny\"]\n  u: {a: \"b\nc\"}\n");
    let s = n.get("s").unwrap();
    let t = s.get("t").unwrap().as_seq().unwrap();
    assert_eq!(t[0].as_str(), Some("one two"));
    assert_eq!(t[1].as_str(), Some("x\ny"));
    assert_eq!(s.get("u").unwrap().get("a").unwrap().as_str(), Some("b c"));
}

#[test]
fn lines_reindented_for_the_parser_keep_their_written_positions() {
    let text = "s:\n  t: [\n x,\n  ]\n  u: 1\n";
    let n = one(text);
    let s = n.get("s").unwrap();
    let x = &s.get("t").unwrap().as_seq().unwrap()[0];
    assert_eq!((x.span.line, x.span.col), (3, 2));
    assert_eq!(&text[x.span.offset as usize..][..1], "x");
    let u = s
        .as_map()
        .unwrap()
        .iter()
        .find(|e| e.key.name == "u")
        .unwrap();
    assert_eq!((u.key.span.line, u.key.span.col), (5, 3));
}

#[test]
fn an_unclosed_flow_collection_is_still_named() {
    let errs = parse("s:\n  t: [\n    a,\nu: 1\n", 0).unwrap_err();
    assert_eq!(errs[0].message, "invalid YAML: `[` is never closed");
    assert_eq!(errs[0].span.unwrap().line, 2);
}

#[test]
fn nested_aliases_are_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let errs = parse(&text, 0).unwrap_err();
    assert!(
        errs[0].message.contains("aliases expand to more than"),
        "{errs:?}"
    );
    assert_eq!(errs.len(), 1);
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let text = format!("x:\n  {}x\n", "- ".repeat(50_000));
    let errs = parse(&text, 0).unwrap_err();
    assert!(
        errs[0].message.contains("nested more than 200 levels"),
        "{errs:?}"
    );
}

#[test]
fn aliases_of_long_strings_are_bounded_too() {
    let long = "y".repeat(4000);
    let mut text = format!(
        "a0: &a0 [\"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\"]\n"
    );
    for i in 1..7 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    let errs = parse(&text, 0).unwrap_err();
    assert!(
        errs[0].message.contains("aliases expand to more than"),
        "{errs:?}"
    );
}

#[test]
fn reset_and_override_tags_are_kept() {
    let n = one("a: !reset []\nb: !override {x: 1}\nc: !reset null\n");
    assert_eq!(n.get("a").unwrap().tag, Some(MergeTag::Reset));
    assert_eq!(n.get("b").unwrap().tag, Some(MergeTag::Override));
    assert_eq!(n.get("c").unwrap().tag, Some(MergeTag::Reset));
}

#[test]
fn a_file_parsed_on_another_core_reads_as_on_one() {
    // large files are parsed on a second thread: the same nodes, spans,
    // errors and reindented flow lines as the one-thread parse
    let mut big = String::from("x-defaults: &d\n  image: app\n  labels: {a: b}\nservices:\n");
    for i in 0..3000 {
        big.push_str(&format!(
            "  s{i}:\n    <<: *d\n    command: [\"run\", \"{i}\"]\n"
        ));
    }
    let sentry_flow = "  late:\n    command: [\"a\",\n    \"b\"]\n";
    let texts = [
        big.clone(),
        format!("{big}{sentry_flow}"),
        format!("{big}  broken: [\n"),
        format!("{big}  dup:\n    image: a\n    image: b\n"),
        format!("{big}  alias: *missing\n"),
        format!("{big}  deep: {}{}\n", "[".repeat(300), "]".repeat(300)),
        "services: {a: {image: x}}\n".into(),
    ];
    let parses = [true, true, false, false, false, false, true];
    for (text, parses) in texts.into_iter().zip(parses) {
        assert_eq!(parse_with(&text, 0, true).is_ok(), parses);
        let one = format!("{:?}", parse_with(&text, 0, false));
        let two = format!("{:?}", parse_with(&text, 0, true));
        assert!(
            one == two,
            "differs for a text ending {:?}",
            &text[text.len().saturating_sub(40)..]
        );
    }
}
