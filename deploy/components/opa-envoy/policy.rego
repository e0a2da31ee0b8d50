# Who may call the backend's /api, decided by OPA for Envoy's ext_authz filter (Rego v1, OPA >= 1.0).
# - Anyone may read the marketplace directory (MARKETPLACE_MODE=directory: listings are public) and the backend's
#   health check.
# - Everything else needs a bearer JWT signed by the identity provider (JWKS, issuer and audience from the Secret
#   opa-jwt, through the environment) whose `tenant` claim is the tenant the request names in X-Tenant-Id.
package envoy.authz

default allow := false

request := input.attributes.request.http

# The path without the query string. Envoy has already normalised it (dot segments resolved, slashes merged, and
# escaped slashes answered with a redirect to the unescaped path: envoy-config.yaml), so the string is the path
# the backend routes on.
path := split(request.path, "?")[0]

# The directory, and everything below it, but not /api/directory-admin or the like.
directory if path == "/api/directory"

directory if startswith(path, "/api/directory/")

allow if {
	request.method in {"GET", "HEAD"}
	directory
}

# The backend's health check (it answers /healthz without touching the database), for whoever calls Envoy in
# the cluster; the Ingress sends only /api/... here.
allow if {
	request.method == "GET"
	path == "/healthz"
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
