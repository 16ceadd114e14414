//! The I/O adapters: readiness (the ready file, the HTTP endpoint, the
//! automatic "the app accepts connections" check), the HTTP client for
//! gates and the drain hook, traffic watching for the adaptive drain
//! (sock_diag), and the metrics the endpoint serves.

pub mod client;
pub mod metrics;
pub mod readiness;
pub mod traffic;
