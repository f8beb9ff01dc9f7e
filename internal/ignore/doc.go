// Package ignore owns the .skillignore format: it parses the gitignore-syntax
// patterns of the single .skillignore file in a skill root and answers whether
// a root-relative, slash-separated path is ignored, including git's rule that
// nothing below an excluded directory can be re-included. It does not walk
// folders, read nested ignore files, consult .gitignore or git configuration,
// or decide which other files (such as hidden ones) a skill leaves out; the
// caller walks the tree and asks.
package ignore
