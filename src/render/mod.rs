//! Rendering a [`Plan`](crate::plan::Plan) for people and machines.
//!
//! Three pure functions, no I/O:
//! - [`text()`]: Terraform-style terminal output, coloured on request;
//! - [`markdown()`]: a pull-request comment (summary table, one collapsible
//!   block per changed resource);
//! - [`json()`]: the stable machine form documented in `docs/plan-json.md`,
//!   built from its own types ([`json::JsonPlan`]), never from the internal
//!   structs.
//!
//! Text and Markdown are laid out from one `view::PlanView`, so both say the
//! same thing in the same words. Sensitive values arrive masked by the plan
//! (`(sensitive)`); renderers print them unquoted and never unmask anything.
//! Whether to colour (`--no-color`, `NO_COLOR`, a terminal or not) is the
//! caller's decision: `text(plan, false)` never emits an escape code.

pub mod json;
mod markdown;
mod text;
mod view;

#[cfg(test)]
mod fixtures;

pub use json::json;
pub use markdown::markdown;
pub use text::{text, text_to};
