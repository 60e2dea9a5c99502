//! TCP with mutual TLS (rustls, ring provider): one connection per pair of parties.
