"""Sign-in through OpenID Connect: ID token verification and the relying-party protocol."""
