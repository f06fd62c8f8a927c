// Package validate holds the checks of srarena's deployment files: the
// docker-compose.yml loaded with the Compose specification library, and the
// Helm chart rendered with Helm's library and decoded strictly with the
// Kubernetes API types. The environment of every srarena container is
// checked against internal/config, so a misspelt setting fails CI.
package validate
