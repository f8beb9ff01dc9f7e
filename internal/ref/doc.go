// Package ref parses the names users type for skills: local tags such as
// "my-skill" or "my-skill:1.2", and docker-style remote references such as
// "registry.example.com:5000/team/my-skill:1.2" or "…@sha256:<hex>". It owns
// the grammar and the local-versus-remote rule; it does not resolve anything.
package ref
