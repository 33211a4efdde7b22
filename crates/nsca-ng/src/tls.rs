//! TLS-PSK contexts for both sides, as Debian's programs set them up:
//! no certificates, the `tls_ciphers` list for TLS ≤ 1.2 (the RFC 4279
//! `PSK-*` suites), OpenSSL 3's default TLS 1.3 suites, and the PSK
//! callbacks (identity = client identity, key = the password's bytes).

use std::sync::{Arc, OnceLock};

use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslRef, SslVerifyMode,
};
use picket_nsca_ng_proto::Authorizer;

/// Where the server keeps the identity a client offered.
fn identity_index() -> Index<Ssl, String> {
    static IDX: OnceLock<Index<Ssl, String>> = OnceLock::new();
    *IDX.get_or_init(|| Ssl::new_ex_index().expect("OpenSSL can allocate an ex_data index"))
}

/// The identity the client offered in its handshake (also after a failed
/// one: a wrong key is reported with the identity that tried it).
pub fn offered_identity(ssl: &SslRef) -> Option<&str> {
    ssl.ex_data(identity_index()).map(String::as_str)
}

/// The server context: `ciphers` is `tls_ciphers`; keys come from
/// `authorizer` (an identity with no block and no `"*"` block gets no key,
/// and the handshake fails).
pub fn server_context(
    ciphers: &str,
    authorizer: Arc<Authorizer>,
) -> Result<SslContext, ErrorStack> {
    let mut b = SslContextBuilder::new(SslMethod::tls_server())?;
    common(&mut b, ciphers)?;
    // No resumption: every session is one PSK handshake anyway, and TLS 1.3
    // session tickets would cost two encryptions and writes per connection.
    b.set_num_tickets(0)?;
    b.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::OFF);
    b.set_psk_server_callback(move |ssl, identity, psk| {
        let id = String::from_utf8_lossy(identity.unwrap_or_default()).into_owned();
        let key = authorizer.password(&id).map(<[u8]>::to_vec);
        ssl.set_ex_data(identity_index(), id);
        match key {
            Some(k) => {
                let n = k.len().min(psk.len());
                psk[..n].copy_from_slice(&k[..n]);
                Ok(n)
            }
            None => Ok(0),
        }
    });
    Ok(b.build())
}

/// The client context for `identity` and `password`.
pub fn client_context(
    ciphers: &str,
    identity: &str,
    password: &[u8],
) -> Result<SslContext, ErrorStack> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client())?;
    common(&mut b, ciphers)?;
    b.set_verify(SslVerifyMode::NONE);
    let identity = identity.as_bytes().to_vec();
    let password = password.to_vec();
    b.set_psk_client_callback(move |_ssl, _hint, id_out, psk_out| {
        // NUL-terminated identity; cut to the buffer as OpenSSL's own apps do.
        let n = identity.len().min(id_out.len().saturating_sub(1));
        id_out[..n].copy_from_slice(&identity[..n]);
        if let Some(z) = id_out.get_mut(n) {
            *z = 0;
        }
        let k = password.len().min(psk_out.len());
        psk_out[..k].copy_from_slice(&password[..k]);
        Ok(k)
    });
    Ok(b.build())
}

fn common(b: &mut SslContextBuilder, ciphers: &str) -> Result<(), ErrorStack> {
    b.set_cipher_list(ciphers)?;
    b.set_options(SslOptions::NO_COMPRESSION);
    // Read what the socket has, not a record header and then its body:
    // one `recv` per record instead of two (Debian's libev loop reads until
    // `EAGAIN` and gets the same effect).
    b.set_read_ahead(true);
    Ok(())
}
