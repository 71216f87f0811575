//go:build tools

// The provider's main package and its generate.go live in the module but are copied out of the
// module cache at build time (its schema-embed.json is generated, not shipped); these imports
// keep what they need in go.sum.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
