//! drainit's subcommands: `drainit check` (a probe for the container's
//! health check) and `drainit explain` (the shutdown timeline that a set of
//! options gives). Each parses its own arguments into its own type; a
//! command line that runs nothing comes back as an [`crate::core::options::Exit`].

pub mod check;
pub mod explain;
pub mod external;
