//! Names a failed HTTP exchange the way the report counts it: refused,
//! reset, EOF, timeout, or another error.

use std::error::Error as StdError;
use std::io;

use crate::tally::Outcome;

/// Walks an error's sources for the first that says what happened.
pub fn classify(err: &(dyn StdError + 'static)) -> Outcome {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return Outcome::Refused,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => return Outcome::Reset,
                io::ErrorKind::UnexpectedEof => return Outcome::Eof,
                io::ErrorKind::TimedOut => return Outcome::Timeout,
                _ => {}
            }
            // A wrapped error's own source() skips the error it wraps.
            if let Some(inner) = io.get_ref() {
                let found = classify(inner);
                if found != Outcome::Other {
                    return found;
                }
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return Outcome::Eof;
            }
            if h.is_timeout() {
                return Outcome::Timeout;
            }
        }
        current = e.source();
    }
    Outcome::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(classify(&e), Outcome::Refused);
        let e = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(classify(&e), Outcome::Reset);
        let e = io::Error::other("x");
        assert_eq!(classify(&e), Outcome::Other);
    }

    #[test]
    fn nested_sources() {
        let inner = io::Error::from(io::ErrorKind::ConnectionRefused);
        let outer = io::Error::other(inner);
        assert_eq!(classify(&outer), Outcome::Refused);
    }
}
