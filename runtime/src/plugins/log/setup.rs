//! `log [NAMES...] [FORMAT] { class CLASSES... }`
//!
//! Every `log` line makes one rule per name. With no argument the name is the
//! root; with exactly one argument that argument is a name, whatever it looks
//! like; with more, the last one is the format if it contains a `{`.

use crate::plugin::Parse;
use corec_compiler::diag::did_you_mean;
use corec_compiler::{Diagnostics, Dispenser};

/// The Common Log Format, also the default format.
pub const COMMON_FORMAT: &str = "{remote}:{port} - {>id} \"{type} {class} {name} {proto} {size} {>do} {>bufsize}\" {rcode} {>rflags} {rsize} {duration}";

/// The Common Log Format followed by the query's opcode.
pub const COMBINED_FORMAT: &str = "{remote}:{port} - {>id} \"{type} {class} {name} {proto} {size} {>do} {>bufsize}\" {rcode} {>rflags} {rsize} {duration} \"{>opcode}\"";

/// A class of responses, as the `class` property names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Every response.
    All,
    /// Positive answers and referrals.
    Success,
    /// NXDOMAIN and NODATA.
    Denial,
    /// Everything else: SERVFAIL, REFUSED, NOTIMP, FORMERR, no reply at all.
    Error,
}

impl Class {
    /// The accepted spellings, in the order the docs list them.
    pub const NAMES: [&'static str; 4] = ["all", "success", "denial", "error"];

    /// The class's name, as `class` takes it and the `log/class` label shows it.
    pub fn name(self) -> &'static str {
        match self {
            Class::All => "all",
            Class::Success => "success",
            Class::Denial => "denial",
            Class::Error => "error",
        }
    }

    /// Parses a class name (case-sensitive, as CoreDNS).
    pub fn from_name(s: &str) -> Option<Class> {
        match s {
            "all" => Some(Class::All),
            "success" => Some(Class::Success),
            "denial" => Some(Class::Denial),
            "error" => Some(Class::Error),
            _ => None,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Class::All => 1,
            Class::Success => 2,
            Class::Denial => 4,
            Class::Error => 8,
        }
    }
}

/// The classes a rule logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Classes(u8);

impl Classes {
    /// Every class.
    pub const ALL: Classes = Classes(1);

    /// Adds a class.
    pub fn insert(&mut self, c: Class) {
        self.0 |= c.bit();
    }

    /// Whether `class` is listed, or `all` is.
    pub fn logs(self, class: Class) -> bool {
        self.0 & (Class::All.bit() | class.bit()) != 0
    }

    /// Whether no class was given.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Class> for Classes {
    fn from_iter<I: IntoIterator<Item = Class>>(iter: I) -> Self {
        let mut set = Classes::default();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

/// One rule: queries at or below `name` are logged with `format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The name scope, lowercased, fully qualified.
    pub name: String,
    /// The format with `{common}` and `{combined}` already expanded.
    pub format: String,
    /// The classes of responses logged.
    pub classes: Classes,
}

/// The configuration of `log`: its rules in Corefile order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// The first rule whose name contains the query name decides.
    pub rules: Vec<Rule>,
}

/// `name` with a trailing dot (an escaped final dot does not count), lowercased.
pub fn fqdn(name: &str) -> String {
    let mut n = name.to_ascii_lowercase();
    let qualified = n
        .strip_suffix('.')
        .is_some_and(|before| (before.len() - before.trim_end_matches('\\').len()) % 2 == 0);
    if !qualified {
        n.push('.');
    }
    n
}

/// Replaces the `{common}` and `{combined}` shorthands wherever they occur.
pub fn expand_format(format: &str) -> String {
    format
        .replace("{common}", COMMON_FORMAT)
        .replace("{combined}", COMBINED_FORMAT)
}

impl Parse for LogConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut rules: Vec<Rule> = Vec::new();
        while d.next() {
            let first = rules.len();
            let args = d.remaining_args();
            let rule = |name: &str, format: &str| Rule {
                name: fqdn(name),
                format: format.to_string(),
                classes: Classes::ALL,
            };
            match args.as_slice() {
                [] => rules.push(rule(".", COMMON_FORMAT)),
                // A single argument is a name, even `{common}`.
                [name] => rules.push(rule(&name.text, COMMON_FORMAT)),
                [names @ .., last] if last.text.contains('{') => {
                    let format = expand_format(&last.text);
                    rules.extend(names.iter().map(|n| rule(&n.text, &format)));
                }
                names => rules.extend(names.iter().map(|n| rule(&n.text, COMMON_FORMAT))),
            }

            let mut classes = Classes::default();
            while d.next_block() {
                match d.val() {
                    "class" => {
                        let names = d.remaining_args();
                        if names.is_empty() {
                            return Err(d.arg_err().into());
                        }
                        for t in names {
                            let Some(c) = Class::from_name(&t.text) else {
                                let mut diag = d.err_at(t, format!("invalid Class: {}", t.text));
                                if let Some(s) = did_you_mean(&t.text, Class::NAMES) {
                                    diag = diag.with_label(format!("did you mean '{s}'?"));
                                }
                                return Err(diag
                                    .with_note(format!(
                                        "class accepts: {}",
                                        Class::NAMES.join(", ")
                                    ))
                                    .into());
                            };
                            classes.insert(c);
                        }
                    }
                    _ => return Err(d.unknown_property(&["class"]).into()),
                }
            }
            if classes.is_empty() {
                classes = Classes::ALL;
            }
            for r in &mut rules[first..] {
                r.classes = classes;
            }
        }
        Ok(LogConfig { rules })
    }
}
