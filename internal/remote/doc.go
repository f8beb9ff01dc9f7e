// Package remote moves skill artifacts between the local store and OCI
// registries: it resolves references, authenticates with the user's Docker
// credentials, retries transient failures, copies graphs blob by blob with
// every byte verified before it is stored, and reports progress. It does not
// decide what a skill is (artifact) or how the store stays consistent
// (store); it uses both.
package remote
