//! What berth prints, and how: standard output that a closed pipe does not
//! turn into an error, the colour decision (`--no-color`, `NO_COLOR`, a
//! terminal), and apply's progress (a live line per resource on a terminal,
//! timestamped lines otherwise). Separate so commands print one way and the
//! layers below print nothing.

use std::io::{IsTerminal, Write};

use crate::apply::executor::Event;
use crate::error::Error;

/// Colour when not switched off and the stream (stdout, or stderr) is a terminal.
pub fn use_color(no_color: bool, stderr: bool) -> bool {
    let terminal = if stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    !no_color && std::env::var_os("NO_COLOR").is_none() && terminal
}

/// Print to stdout; a closed pipe (`berth plan | head`) is not an error.
pub fn print_out(text: &str) -> Result<(), Error> {
    print_out_chunks(|emit| emit(text))
}

/// Print text that `write` hands over in chunks (a large plan), with the
/// errors of [`print_out`].
pub fn print_out_chunks(
    write: impl FnOnce(&mut dyn FnMut(&str) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    let written = write(&mut |chunk: &str| out.write_all(chunk.as_bytes()));
    stdout_result(written.and_then(|()| out.flush()))
}

/// A write to standard output that failed, unless the reader went away.
pub fn stdout_result(written: std::io::Result<()>) -> Result<(), Error> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("write to standard output", e))
        }
        _ => Ok(()),
    }
}

/// Progress: a live line per resource on a terminal, timestamped lines otherwise.
pub struct Progress {
    quiet: bool,
    live: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let live = (!quiet && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
        Progress {
            quiet,
            live,
            bars: Default::default(),
        }
    }

    fn stamp() -> String {
        let now = crate::state::format_rfc3339(std::time::SystemTime::now());
        now.get(11..19).unwrap_or(&now).to_string()
    }

    pub fn event(&self, e: Event) {
        let text = describe(&e);
        let key = match &e {
            Event::Started { address, .. }
            | Event::Finished { address, .. }
            | Event::Failed { address, .. } => address.to_string(),
        };
        if let Some(live) = &self.live {
            let mut bars = self.bars.lock().expect("progress lock");
            match e {
                Event::Started { .. } => {
                    let bar = live.add(indicatif::ProgressBar::new_spinner());
                    bar.set_style(
                        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                            .expect("template"),
                    );
                    bar.enable_steady_tick(std::time::Duration::from_millis(120));
                    bar.set_message(text);
                    bars.insert(key, bar);
                }
                Event::Finished { .. } => {
                    if let Some(bar) = bars.remove(&key) {
                        // the line already says how long it took
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("  {msg}").expect("template"),
                        );
                        bar.finish_with_message(text);
                    }
                }
                Event::Failed { .. } => {
                    if let Some(bar) = bars.remove(&key) {
                        bar.abandon_with_message(text);
                    }
                }
            }
            return;
        }
        if self.quiet && !matches!(e, Event::Failed { .. }) {
            return;
        }
        eprintln!("{} {text}", Self::stamp());
    }

    /// Finished lines stay on screen (as Terraform's do); only spinners of
    /// steps that never finished are dropped.
    pub fn finish(&self) {
        for (_, bar) in std::mem::take(&mut *self.bars.lock().expect("progress lock")) {
            bar.abandon();
        }
    }
}

/// One progress line: `container.web[1]: created after 0.3s`.
fn describe(e: &Event) -> String {
    match e {
        Event::Started { address, what } => format!("{address}: {what}..."),
        Event::Finished {
            address,
            what,
            elapsed,
        } => format!(
            "{address}: {} after {:.1}s",
            done_word(what),
            elapsed.as_secs_f64()
        ),
        Event::Failed {
            address,
            what,
            error,
        } => format!("{address}: {what} failed: {error}"),
    }
}

fn done_word(what: &str) -> &'static str {
    match what {
        "creating" => "created",
        "starting" => "started",
        "destroying" => "destroyed",
        _ => "updated",
    }
}
