package main

import (
	"fmt"
	"os"

	"github.com/tasvieh/tasvieh/rulebook"
)

// loadRulebook is the embedded rulebook, or the one TASVIEH_RULES overrides.
func loadRulebook(cfg Config) (*rulebook.Book, error) {
	if cfg.RulesFile == "" {
		return rulebook.Default(), nil
	}
	f, err := os.Open(cfg.RulesFile)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	defer f.Close()
	b, err := rulebook.Load(f)
	if err != nil {
		return nil, fmt.Errorf("rules file %s: %w", cfg.RulesFile, err)
	}
	return b, nil
}
