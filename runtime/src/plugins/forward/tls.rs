//! The TLS client settings of DNS-over-TLS upstreams (rustls with *ring*).

use super::setup::TlsFiles;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("error reading {}: {e}", path.display()))?;
    CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("could not read certificates from {}: {e}", path.display()))
}

/// The client configuration for a stanza's `tls` (`None`: system roots and
/// no client certificate). TLS 1.2 at least, as CoreDNS.
pub(super) fn client_config(
    files: Option<&TlsFiles>,
    resolve: impl Fn(&str) -> std::path::PathBuf,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let mut roots = RootCertStore::empty();
    match files.and_then(|f| f.ca.as_deref()) {
        Some(ca) => {
            let path = resolve(ca);
            let certs = read_certs(&path)?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "could not read root certs: no certificate in {}",
                    path.display()
                ));
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
    }
    let builder = builder.with_root_certificates(roots);
    let config = match files.and_then(|f| f.cert_key.as_ref()) {
        Some((cert, key)) => {
            let certs =
                read_certs(&resolve(cert)).map_err(|e| format!("could not load TLS cert: {e}"))?;
            let key_path = resolve(key);
            let key = PrivateKeyDer::from_pem_file(&key_path)
                .map_err(|e| format!("could not load TLS cert: {}: {e}", key_path.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("could not load TLS cert: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}
