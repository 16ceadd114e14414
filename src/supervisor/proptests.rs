//! Property tests of the supervisor (owned by the hardening work).
