"""FranceConnect v2 on the one identity stack: `client` (OpenID Connect, JOSE), `service`
(trips, sign-in, linking at activation, logout, unlinking), `http` (its pages), `models`."""
