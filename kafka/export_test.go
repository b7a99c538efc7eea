package kafka

import "github.com/twmb/franz-go/pkg/kfake"

// Fake returns the embedded broker of c, for tests that inject faults into it; nil when c is real.
func Fake(c *Cluster) *kfake.Cluster { return c.fake }
