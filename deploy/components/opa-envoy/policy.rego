# Who may call the backend's /api, decided by OPA for Envoy's ext_authz filter (Rego v1, OPA >= 1.0).
# - Anyone may read the marketplace directory (MARKETPLACE_MODE=directory: listings are public) and the health check.
# - Everything else needs a bearer JWT signed by the identity provider (JWKS, issuer and audience from the Secret
#   opa-jwt, through the environment) whose `tenant` claim is the tenant the request names in X-Tenant-Id.
package envoy.authz

default allow := false

request := input.attributes.request.http

allow if {
	request.method in {"GET", "HEAD"}
	startswith(request.path, "/api/directory")
}

allow if {
	request.method == "GET"
	request.path == "/api/healthz"
}

allow if {
	claims.tenant == request.headers["x-tenant-id"]
}

env := opa.runtime().env

bearer := token if {
	startswith(request.headers.authorization, "Bearer ")
	token := substring(request.headers.authorization, count("Bearer "), -1)
}

# decode_verify checks the signature against the JWKS, exp/nbf against the current time, iss and aud.
claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(bearer, {
		"cert": env.TOPDOG_JWT_JWKS,
		"iss": env.TOPDOG_JWT_ISSUER,
		"aud": env.TOPDOG_JWT_AUDIENCE,
	})
	valid
}
