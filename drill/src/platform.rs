//! How each platform stops a replica, as times after the stop begins
//! (t = 0: the pod is deleted, `docker stop` runs, the ECS task is told to
//! stop). Pure: the rollout applies a [`StopPlan`] with its own clock.
//!
//! The presets' figures and their sources are in docs/drill.md.

use std::time::Duration;

/// The platform modelled by `--platform`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Pod deletion: endpoint removal and SIGTERM race; SIGKILL at
    /// terminationGracePeriodSeconds (preStop counted inside it).
    Kubernetes,
    /// `docker stop -t GRACE`: the stop signal, SIGKILL after GRACE; the
    /// replica leaves the balancer when it stops.
    Docker,
    /// ECS behind a load balancer: deregistration first, the stop signal
    /// after the deregistration delay, SIGKILL after stopTimeout.
    Ecs,
}

/// Kubernetes gives a preStop hook that outlives the grace this much more
/// before SIGKILL (kubelet's one-off 2 s extension).
pub const PRESTOP_EXTENSION: Duration = Duration::from_secs(2);

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Kubernetes => "kubernetes",
            Platform::Docker => "docker",
            Platform::Ecs => "ecs",
        }
    }

    /// The grace before SIGKILL when `--grace` is not given.
    pub fn default_grace(self) -> Duration {
        match self {
            // terminationGracePeriodSeconds
            Platform::Kubernetes => Duration::from_secs(30),
            // docker stop's default -t
            Platform::Docker => Duration::from_secs(10),
            // ECS stopTimeout
            Platform::Ecs => Duration::from_secs(30),
        }
    }

    /// The endpoint lag when `--lag` is not given.
    pub fn default_lag(self) -> Duration {
        match self {
            // kube-proxy / ingress controllers: about 1-2 s
            Platform::Kubernetes => Duration::from_secs(2),
            // no load balancer between: the replica goes when it stops
            Platform::Docker => Duration::ZERO,
            // the ALB stops routing to a draining target a few seconds in
            Platform::Ecs => Duration::from_secs(5),
        }
    }
}

/// The platform's settings for one drill.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub platform: Platform,
    /// From the stop's beginning to the balancer no longer routing to the
    /// replica.
    pub lag: Duration,
    /// The platform's grace: SIGKILL this long after the stop begins (after
    /// the stop signal for ECS).
    pub grace: Duration,
    /// Kubernetes' preStop sleep: the stop signal waits this long.
    pub prestop_sleep: Duration,
    /// ECS' deregistration delay: the stop signal waits this long.
    pub deregistration_delay: Duration,
}

/// When the platform does what, after the stop begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopPlan {
    /// The balancer stops routing new requests to the replica.
    pub removal_at: Duration,
    /// The stop signal (the image's STOPSIGNAL) is sent.
    pub signal_at: Duration,
    /// SIGKILL, if the container still runs.
    pub kill_at: Duration,
}

impl Settings {
    pub fn stop_plan(&self) -> StopPlan {
        match self.platform {
            Platform::Kubernetes => {
                let prestop = self.prestop_sleep;
                if !prestop.is_zero() && prestop >= self.grace {
                    // The hook is cut at the grace, SIGTERM goes then, and
                    // kubelet grants 2 s more before SIGKILL.
                    StopPlan {
                        removal_at: self.lag,
                        signal_at: self.grace,
                        kill_at: self.grace + PRESTOP_EXTENSION,
                    }
                } else {
                    StopPlan {
                        removal_at: self.lag,
                        signal_at: prestop,
                        kill_at: self.grace,
                    }
                }
            }
            Platform::Docker => StopPlan {
                removal_at: self.lag,
                signal_at: Duration::ZERO,
                kill_at: self.grace,
            },
            Platform::Ecs => StopPlan {
                removal_at: self.lag,
                signal_at: self.deregistration_delay,
                kill_at: self.deregistration_delay + self.grace,
            },
        }
    }

    /// The time between the stop signal and the platform's SIGKILL: what
    /// the app (or drainit) has to drain in.
    pub fn budget_after_signal(&self) -> Duration {
        let plan = self.stop_plan();
        plan.kill_at.saturating_sub(plan.signal_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k8s(lag: u64, grace: u64, prestop: u64) -> Settings {
        Settings {
            platform: Platform::Kubernetes,
            lag: Duration::from_secs(lag),
            grace: Duration::from_secs(grace),
            prestop_sleep: Duration::from_secs(prestop),
            deregistration_delay: Duration::ZERO,
        }
    }

    fn plan(removal: u64, signal: u64, kill: u64) -> StopPlan {
        StopPlan {
            removal_at: Duration::from_secs(removal),
            signal_at: Duration::from_secs(signal),
            kill_at: Duration::from_secs(kill),
        }
    }

    #[test]
    fn kubernetes_races_removal_and_sigterm() {
        assert_eq!(k8s(2, 30, 0).stop_plan(), plan(2, 0, 30));
    }

    #[test]
    fn kubernetes_prestop_inside_the_grace() {
        // The article's third configuration: preStop 40 s, grace 50 s.
        assert_eq!(k8s(2, 50, 40).stop_plan(), plan(2, 40, 50));
        assert_eq!(
            k8s(2, 50, 40).budget_after_signal(),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn kubernetes_prestop_longer_than_the_grace_is_cut() {
        // The article's second: preStop 40 s with the default 30 s grace.
        assert_eq!(k8s(2, 30, 40).stop_plan(), plan(2, 30, 32));
    }

    #[test]
    fn docker_and_ecs() {
        let docker = Settings {
            platform: Platform::Docker,
            ..k8s(0, 10, 0)
        };
        assert_eq!(docker.stop_plan(), plan(0, 0, 10));
        let ecs = Settings {
            platform: Platform::Ecs,
            deregistration_delay: Duration::from_secs(15),
            ..k8s(5, 30, 0)
        };
        assert_eq!(ecs.stop_plan(), plan(5, 15, 45));
    }
}
