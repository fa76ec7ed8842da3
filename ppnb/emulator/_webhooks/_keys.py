"""The emulator's webhook signing keys and their self-signed X.509 certificates.

An RSA key and its certificate are made once per database, and a new pair only when the
emulator's clock leaves the old certificate's validity; the certificate is served at
``/v1/notifications/certs/CERT-...`` (:data:`ppnb._signing.CERT_PATH`), like PayPal's.
"""

from __future__ import annotations

import datetime as dt
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ..._signing import CERT_PATH
from .._clock import Clock, isoformat
from .._store import Store

#: How long a signing certificate is valid, from a day before it is made.
CERT_VALIDITY = dt.timedelta(days=3650)


class SigningKeys:
    """The current signing key (made on first use) and every certificate by id.

    Parameters
    ----------
    store, clock
        The emulator's database and clock.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._key: tuple[str, str, rsa.RSAPrivateKey] | None = None  # cert id, not_after, key

    def current(self) -> tuple[str, rsa.RSAPrivateKey]:
        """The current certificate's id and private key, made on first use."""
        now = isoformat(self.clock.now())
        with self._lock:
            if self._key is not None and self._key[1] > now:
                return self._key[0], self._key[2]
            row = self.store.one(
                "SELECT id, not_after, key_pem FROM webhook_certs WHERE not_before <= ? "
                "AND not_after > ? ORDER BY not_after DESC", (now, now))
            if row is None:
                row = self._new_certificate()
            key = serialization.load_pem_private_key(row[2], password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._key = (row[0], row[1], key)
            return row[0], key

    def _new_certificate(self) -> tuple[str, str, bytes]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.ppnb.emulator"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ppnb PayPal emulator"),
        ])
        start = self.clock.now() - dt.timedelta(days=1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + CERT_VALIDITY)
                .sign(key, hashes.SHA256()))
        cert_id = "CERT-360caa42-fca2a594-" + cert.fingerprint(hashes.SHA256()).hex()[:8]
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        not_after = isoformat(cert.not_valid_after_utc)
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO webhook_certs VALUES (?, ?, ?, ?, ?)",
                (cert_id, key_pem, cert.public_bytes(serialization.Encoding.PEM),
                 isoformat(cert.not_valid_before_utc), not_after))
        return cert_id, not_after, key_pem

    def certificate(self, cert_id: str) -> bytes | None:
        """A signing certificate as PEM, by id (``None`` if there is no such one)."""
        row = self.store.one("SELECT cert_pem FROM webhook_certs WHERE id = ?", (cert_id,))
        return row[0] if row else None

    def public_key(self, path: str) -> rsa.RSAPublicKey | None:
        """The key of the certificate a URL path names (``/v1/notifications/certs/<id>``),
        or ``None`` if it names none of the emulator's."""
        pem = self.certificate(path[len(CERT_PATH):]) if path.startswith(CERT_PATH) else None
        if pem is None:
            return None
        key = x509.load_pem_x509_certificate(pem).public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        return key
