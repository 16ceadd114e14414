//! Readiness as the outside world sees it: the ready file, the HTTP
//! endpoint and the readiness gate probes.

pub mod file;
pub mod http;
pub mod listen;

#[cfg(test)]
mod gate_tests;
