//! TLS for `--url https://...` (rustls with the ring provider): the
//! Mozilla roots of webpki-roots, or the CA of `--cacert FILE`, or no check
//! at all with `--insecure`. Before the load starts, one handshake with the
//! URL's host: a certificate it refuses is a setup failure (one line, exit
//! 2), not a run where every request fails.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How the server's certificate is checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Trust<'a> {
    /// The Mozilla roots (webpki-roots).
    Public,
    /// The certificates of a PEM file (`--cacert`).
    CaFile(&'a Path),
    /// No check (`--insecure`).
    Insecure,
}

/// ring's provider. rustls 0.23.48 deprecates it for having no
/// post-quantum key exchange; the drill loads a URL to count dropped
/// requests, and aws-lc-rs (the provider that has one) would need cmake and
/// a C toolchain for each of the release's architectures.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The client configuration for `trust`, or one line saying what is wrong
/// with `--cacert`.
pub fn config(trust: &Trust<'_>) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let config = match trust {
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCheck(provider)))
            .with_no_client_auth(),
        Trust::Public => {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::CaFile(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                format!(
                    "--cacert {}: {e} (give a PEM file of CA certificates)",
                    path.display()
                )
            };
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(bad(&"no certificate in it"));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// One TLS handshake with `host:port`: Ok when the server's certificate is
/// accepted, or when the host does not answer at all (the load counts
/// that); Err with rustls' reason when the handshake fails.
pub async fn preflight(
    config: Arc<ClientConfig>,
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
        .map_err(|e| format!("{host} is not a host name TLS can check: {e}"))?
        .to_owned();
    let connect =
        tokio::net::TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port));
    let tcp = match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(tcp)) => tcp,
        // Not answering is what the load measures, not a set-up error.
        _ => return Ok(()),
    };
    let handshake = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
    match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(_)) | Err(_) => Ok(()),
        Ok(Err(e)) => Err(format!("the TLS handshake failed: {e}")),
    }
}

/// `--insecure`: every certificate is accepted; the handshake's signatures
/// are still checked (the connection is encrypted, to whoever answers).
#[derive(Debug)]
struct NoCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cacert_errors_name_the_file() {
        let e = config(&Trust::CaFile(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(e.starts_with("--cacert /nonexistent/ca.pem: "), "{e}");
        let dir = std::env::temp_dir().join(format!("drill-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = config(&Trust::CaFile(&empty)).unwrap_err();
        assert!(e.contains("no certificate in it"), "{e}");
        assert!(config(&Trust::Public).is_ok());
        assert!(config(&Trust::Insecure).is_ok());
    }
}
