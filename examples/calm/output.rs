//! Output conventions shared by every command: exit codes, JSON printing, error messages.

use std::process::ExitCode;

/// `println!` that never panics: a closed pipe (`calm … | head`) just ends the output.
///
/// Text from outside (server messages, fields of keys) never reaches the terminal raw: control
/// characters other than line breaks and tabs are replaced ([`calm_credentials::printable_lines`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            calm_credentials::printable_lines(&text)
        );
    }};
}

/// `eprintln!` with the same control-character replacement as [`out!`].
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            calm_credentials::printable_lines(&text)
        );
    }};
}

use calm_credentials::Error;

/// How a command ended.
pub enum Outcome {
    /// Everything worked (exit 0).
    Success,
    /// The platform refused, a check failed or a deadline passed (exit 1).
    Failed,
    /// The input was unusable (exit 2).
    BadInput,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Failed => ExitCode::from(1),
            Outcome::BadInput => ExitCode::from(2),
        }
    }

    /// The outcome an error from the library implies.
    pub fn of_error(err: &Error) -> Outcome {
        match err {
            Error::InvalidJson { .. }
            | Error::InvalidName { .. }
            | Error::InvalidUrl { .. }
            | Error::Config { .. }
            | Error::Io { .. }
            | Error::InvalidSink { .. }
            | Error::Write { .. } => Outcome::BadInput,
            _ => Outcome::Failed,
        }
    }
}

/// Prints a JSON value on stdout, pretty.
pub fn print_json(value: &serde_json::Value) {
    crate::out!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// Prints an error on stderr (or as JSON on stdout) and returns the matching outcome.
pub fn report_error(err: &Error, json: bool) -> Outcome {
    let text = match hint(err) {
        Some(hint) => format!("{err}; {hint}"),
        None => err.to_string(),
    };
    if json {
        print_json(&serde_json::json!({ "error": text }));
    } else {
        crate::err!("error: {text}");
    }
    Outcome::of_error(err)
}

/// What to do on the command line about an error the library reports in its own terms.
fn hint(err: &Error) -> Option<&'static str> {
    match err {
        Error::NotFound {
            creatable: true, ..
        } => Some("run again with --create to create it"),
        _ => None,
    }
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &str) -> Result<String, Error> {
    use std::io::Read;
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::Io {
                path: "standard input".into(),
                source,
            })?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}
