//! The Docker Engine API, thin: connect, inspect the image, run labelled
//! replicas on the drill's own network, signal them, see how they ended,
//! read their logs, remove everything the drill created. Every error comes
//! back as one line for the user.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, KillContainerOptions, ListContainersOptions,
    ListNetworksOptions, LogsOptions, RemoveContainerOptions, WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

/// Every container and network the drill creates carries this label...
pub const LABEL: &str = "io.drainit.drill";
/// ...and the run's id, and the drill's process id (leftovers of a dead
/// drill are removed by the next run).
pub const LABEL_RUN: &str = "io.drainit.drill.run";
pub const LABEL_PID: &str = "io.drainit.drill.pid";
const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Connects through DOCKER_HOST (or the default socket) and negotiates the
/// API version with the engine.
pub async fn connect() -> Result<Docker, String> {
    let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let tried = match &host {
        Some(h) => format!("DOCKER_HOST={h}"),
        None => format!("{DEFAULT_SOCKET} (DOCKER_HOST is not set)"),
    };
    let unreachable = |e: &dyn std::fmt::Display| {
        format!("no Docker engine answers at {tried}: {e}; start Docker or set DOCKER_HOST")
    };
    let docker = Docker::connect_with_defaults()
        .map_err(|e| unreachable(&e))?
        .with_timeout(Duration::from_secs(120));
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| unreachable(&"no answer within 10s"))?
        .map_err(|e| unreachable(&e))?;
    docker.ping().await.map_err(|e| unreachable(&e))?;
    Ok(docker)
}

/// What the drill needs of an image.
#[derive(Clone, Debug, Default)]
pub struct ImageInfo {
    pub name: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// Exposed TCP ports.
    pub ports: Vec<u16>,
    /// The STOPSIGNAL, empty for the default (SIGTERM).
    pub stop_signal: String,
}

impl ImageInfo {
    /// The process the image runs: entrypoint then cmd.
    pub fn command(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

pub async fn inspect_image(docker: &Docker, name: &str, pull: bool) -> Result<ImageInfo, String> {
    let inspected = match docker.inspect_image(name).await {
        Ok(i) => i,
        Err(e) if is_not_found(&e) && pull => {
            pull_image(docker, name).await?;
            docker
                .inspect_image(name)
                .await
                .map_err(|e| format!("image {name}: {e}"))?
        }
        Err(e) if is_not_found(&e) => {
            return Err(format!(
                "image {name} is not present on the engine: build it, or add --pull to pull it"
            ))
        }
        Err(e) => return Err(format!("image {name}: {e}")),
    };
    let config = inspected.config.unwrap_or_default();
    let mut ports: Vec<u16> = config
        .exposed_ports
        .unwrap_or_default()
        .iter()
        .filter_map(|p| match p.split_once('/') {
            Some((port, "tcp")) => port.parse().ok(),
            None => p.parse().ok(),
            _ => None,
        })
        .collect();
    ports.sort_unstable();
    Ok(ImageInfo {
        name: name.to_string(),
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        ports,
        stop_signal: config.stop_signal.unwrap_or_default(),
    })
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

async fn pull_image(docker: &Docker, name: &str) -> Result<(), String> {
    let options = CreateImageOptions {
        from_image: Some(name.to_string()),
        ..CreateImageOptions::default()
    };
    let mut stream = docker.create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        item.map_err(|e| format!("pulling {name}: {e}"))?;
    }
    Ok(())
}

/// Whether the engine has an `--init` binary.
pub async fn has_init(docker: &Docker) -> bool {
    match docker.info().await {
        Ok(info) => info.init_binary.is_some_and(|b| !b.is_empty()),
        Err(_) => false,
    }
}

fn labels(run: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), run.to_string()),
        (LABEL_PID.to_string(), std::process::id().to_string()),
    ])
}

/// The drill's network, and the addresses its replicas get in turn.
pub struct Network {
    pub name: String,
    next: std::sync::atomic::AtomicU32,
    last: u32,
}

impl Network {
    /// A fresh address: never one a stopped replica had. (Docker hands a
    /// stopped container's address to the next one, and a request the
    /// balancer sent to the old replica would then reach the new one.)
    pub fn next_ip(&self) -> Option<std::net::Ipv4Addr> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (n < self.last).then(|| std::net::Ipv4Addr::from(n))
    }
}

/// Subnets tried for the drill's network (a /22 each: room for 1000
/// replicas without reusing an address).
fn subnets() -> impl Iterator<Item = (u32, u8)> {
    (0..64u32).map(|i| ((10 << 24) | (213 << 16) | (i << 10), 22))
}

pub async fn create_network(docker: &Docker, run: &str) -> Result<Network, String> {
    let name = format!("drainit-drill-{run}");
    let mut last_error = String::new();
    for (base, len) in subnets() {
        let subnet = format!("{}/{len}", std::net::Ipv4Addr::from(base));
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(labels(run)),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.clone()),
                    gateway: Some(std::net::Ipv4Addr::from(base + 1).to_string()),
                    ..IpamConfig::default()
                }]),
                ..Ipam::default()
            }),
            ..NetworkCreateRequest::default()
        };
        match docker.create_network(request).await {
            Ok(_) => {
                return Ok(Network {
                    name,
                    next: std::sync::atomic::AtomicU32::new(base + 2),
                    last: base + (1 << (32 - len)) - 1,
                })
            }
            // Overlaps a network that exists: try the next subnet.
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(format!(
        "cannot create the drill's network {name} (no free subnet in 10.213.0.0/16): {last_error}"
    ))
}

/// One replica to run.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub port: u16,
    pub stop_signal: Option<String>,
    /// `HOST:CONTAINER:ro` bind mounts.
    pub binds: Vec<String>,
    /// Docker's `--init`.
    pub init: bool,
    pub network: String,
    /// Its address on the network.
    pub ip: Option<std::net::Ipv4Addr>,
    pub run: String,
}

/// A started replica: its id and the address the balancer reaches it at
/// (its address on the drill's network; its port is also published on
/// 127.0.0.1 for the user to poke at).
#[derive(Clone, Debug)]
pub struct Started {
    pub id: String,
    pub addr: std::net::SocketAddr,
}

pub async fn start(docker: &Docker, spec: &Spec) -> Result<Started, String> {
    let port_key = format!("{}/tcp", spec.port);
    let host_config = HostConfig {
        binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
        network_mode: Some(spec.network.clone()),
        port_bindings: Some(HashMap::from([(
            port_key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        )])),
        init: spec.init.then_some(true),
        ..HostConfig::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        env: (!spec.env.is_empty()).then(|| spec.env.clone()),
        exposed_ports: Some(vec![port_key.clone()]),
        labels: Some(labels(&spec.run)),
        stop_signal: spec.stop_signal.clone(),
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                spec.network.clone(),
                EndpointSettings {
                    ipam_config: spec.ip.map(|ip| EndpointIpamConfig {
                        ipv4_address: Some(ip.to_string()),
                        ..EndpointIpamConfig::default()
                    }),
                    ..EndpointSettings::default()
                },
            )])),
        }),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..CreateContainerOptions::default()
    };
    let created = docker
        .create_container(Some(options), body)
        .await
        .map_err(|e| format!("cannot create container {}: {e}", spec.name))?;
    docker
        .start_container(&created.id, None)
        .await
        .map_err(|e| format!("cannot start container {}: {e}", spec.name))?;
    let inspected = docker
        .inspect_container(&created.id, None)
        .await
        .map_err(|e| format!("cannot inspect container {}: {e}", spec.name))?;
    let settings = inspected.network_settings.unwrap_or_default();
    let ip = settings
        .networks
        .as_ref()
        .and_then(|n| n.get(&spec.network))
        .and_then(|e| e.ip_address.clone())
        .filter(|ip| !ip.is_empty());
    let published = settings
        .ports
        .as_ref()
        .and_then(|p| p.get(&port_key))
        .and_then(|b| b.as_ref())
        .and_then(|b| b.first())
        .and_then(|b| b.host_port.as_ref())
        .and_then(|p| p.parse().ok());
    let addr = match ip {
        Some(ip) => format!("{ip}:{}", spec.port),
        // Exited already, or no address yet: the probe will say so.
        None => format!("127.0.0.1:{}", published.unwrap_or(spec.port)),
    }
    .parse()
    .map_err(|e| format!("container {}: bad address: {e}", spec.name))?;
    Ok(Started {
        id: created.id,
        addr,
    })
}

pub async fn signal(docker: &Docker, id: &str, signal: &str) -> Result<(), String> {
    let options = KillContainerOptions {
        signal: signal.to_string(),
    };
    docker
        .kill_container(id, Some(options))
        .await
        .map_err(|e| format!("cannot send {signal} to {}: {e}", short(id)))
}

/// How a container ended.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ended {
    pub exit_code: i64,
    pub oom_killed: bool,
}

/// Waits until the container is no longer running.
pub async fn wait_exit(docker: &Docker, id: &str) -> Result<Ended, String> {
    let options = WaitContainerOptions {
        condition: "not-running".into(),
    };
    let mut stream = docker.wait_container(id, Some(options));
    // A non-zero exit arrives as an error item; the inspect below is the truth.
    while stream.next().await.is_some() {}
    let inspected = docker
        .inspect_container(id, None)
        .await
        .map_err(|e| format!("cannot inspect {}: {e}", short(id)))?;
    let state = inspected.state.unwrap_or_default();
    Ok(Ended {
        exit_code: state.exit_code.unwrap_or(-1),
        oom_killed: state.oom_killed.unwrap_or(false),
    })
}

/// The container's log lines (stdout and stderr), the last `tail` of them
/// (`None`: all).
pub async fn logs(docker: &Docker, id: &str, tail: Option<usize>) -> Vec<String> {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
        ..LogsOptions::default()
    };
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.lines().map(str::to_string).collect()
}

pub async fn remove_container(docker: &Docker, id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..RemoveContainerOptions::default()
    };
    let _ = docker.remove_container(id, Some(options)).await;
}

/// Removes the drill's containers and networks: those of `run` when given,
/// else those of every drill whose process is gone (`all`: every drill's).
/// Returns how many containers and networks went.
pub async fn cleanup(
    docker: &Docker,
    run: Option<&str>,
    all: bool,
) -> Result<(usize, usize), String> {
    let label = match run {
        Some(run) => format!("{LABEL_RUN}={run}"),
        None => LABEL.to_string(),
    };
    let filters = Some(HashMap::from([("label".to_string(), vec![label])]));
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: filters.clone(),
            ..ListContainersOptions::default()
        }))
        .await
        .map_err(|e| format!("cannot list the drill's containers: {e}"))?;
    let owned = |labels: Option<&HashMap<String, String>>| -> bool {
        run.is_some() || all || !owner_alive(labels)
    };
    let mut removed = (0, 0);
    for c in containers.iter().filter(|c| owned(c.labels.as_ref())) {
        if let Some(id) = &c.id {
            remove_container(docker, id).await;
            removed.0 += 1;
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions { filters }))
        .await
        .map_err(|e| format!("cannot list the drill's networks: {e}"))?;
    for n in networks.iter().filter(|n| owned(n.labels.as_ref())) {
        if let Some(name) = &n.name {
            if docker.remove_network(name).await.is_ok() {
                removed.1 += 1;
            }
        }
    }
    Ok(removed)
}

/// Whether the drill that created an object still runs (on this machine).
fn owner_alive(labels: Option<&HashMap<String, String>>) -> bool {
    let Some(pid) = labels
        .and_then(|l| l.get(LABEL_PID))
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    String::from_utf8_lossy(&cmdline).contains("drill")
}

pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
