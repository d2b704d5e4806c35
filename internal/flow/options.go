package flow

// Options bound what Parse accepts. A zero or negative field takes its
// default.
type Options struct {
	// MaxBytes is the largest document accepted, in bytes, JSON or YAML.
	// A YAML document must also expand (aliases included) to at most
	// 4×MaxBytes of JSON. Default 1 MiB.
	MaxBytes int
	// MaxModules is the most modules a flow may hold, counting those
	// nested in loops and branches and the failure module. Default 1000.
	MaxModules int
	// MaxDepth is how deeply loops and branches may nest: a top-level
	// module is at depth 0, one inside a loop at depth 1, and so on. A YAML
	// document is also refused, before it is parsed, when its syntax nests
	// more than 32+6×MaxDepth levels, or a block mapping has more than
	// 1000 keys (the YAML parser's time grows with the square of both).
	// Default 16.
	MaxDepth int
	// MaxWhileIterations is how many times a whileloopflow may run its
	// body before the run fails. Parsing does not use it; it travels with
	// the other limits to the orchestrator. Default 10000.
	MaxWhileIterations int
}

// Defaults of Options.
const (
	DefaultMaxBytes           = 1 << 20
	DefaultMaxModules         = 1000
	DefaultMaxDepth           = 16
	DefaultMaxWhileIterations = 10000
)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxModules <= 0 {
		o.MaxModules = DefaultMaxModules
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxWhileIterations <= 0 {
		o.MaxWhileIterations = DefaultMaxWhileIterations
	}
	return o
}

// yamlMaxNesting is how deeply a YAML document's syntax may nest.
func (o Options) yamlMaxNesting() int { return 32 + 6*o.MaxDepth }

// yamlMaxKeys is the most keys a YAML block mapping may have.
const yamlMaxKeys = 1000
