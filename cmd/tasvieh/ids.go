package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
)

// idError is the "error" object of sheba and card validation output.
type idError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Position int    `json:"position"`
}

type shebaResult struct {
	Input       string   `json:"input"`
	Valid       bool     `json:"valid"`
	SHEBA       string   `json:"sheba"`
	BankCode    string   `json:"bank_code"`
	Bank        string   `json:"bank"`
	AccountType *int     `json:"account_type"`
	Account     string   `json:"account"`
	Error       *idError `json:"error,omitempty"`
}

func runSHEBA(ctx context.Context, env Env, args []string) int {
	const help = "usage: tasvieh sheba validate [--json] SHEBA...\n       tasvieh sheba generate --bank CODE --account DIGITS [--type 0-3]"
	if len(args) == 0 {
		return usageError(env, help)
	}
	switch args[0] {
	case "validate":
		return shebaValidate(env, args[1:])
	case "generate":
		return shebaGenerate(env, args[1:])
	case "-h", "--help":
		fmt.Fprintln(env.Stdout, help)
		return exitOK
	}
	return usageError(env, "sheba: unknown action %q\n%s", args[0], help)
}

func shebaValidate(env Env, args []string) int {
	fs := newFlags(env, "sheba validate", "sheba validate [--json] SHEBA...")
	asJSON := fs.Bool("json", false, "one JSON object per input per line")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(inputs) == 0 {
		return usageError(env, "sheba validate: give at least one SHEBA")
	}
	reg := banks.Default()
	enc := json.NewEncoder(env.Stdout)
	code := exitOK
	for _, in := range inputs {
		r := shebaResult{Input: in}
		x, err := sheba.Parse(in, reg)
		if err != nil {
			code = exitInvalid
			var e *sheba.Error
			if errors.As(err, &e) {
				r.Error = &idError{Code: string(e.Code), Message: e.Message, Position: e.Position}
			} else {
				r.Error = &idError{Code: "invalid", Message: err.Error()}
			}
		} else {
			r.Valid = true
			r.SHEBA = x.String()
			r.BankCode = x.BankCode()
			if b, ok := reg.ByCode(r.BankCode); ok {
				r.Bank = b.NameEN
			}
			t := x.AccountType()
			r.AccountType = &t
			r.Account = x.Account()
		}
		if *asJSON {
			_ = enc.Encode(r)
			continue
		}
		if r.Valid {
			fmt.Fprintf(env.Stdout, "%s\tvalid\t%s %s, account type %d, account %s\n", r.SHEBA, r.BankCode, r.Bank, *r.AccountType, r.Account)
		} else {
			fmt.Fprintf(env.Stdout, "%s\tinvalid\t%s: %s\n", in, r.Error.Code, r.Error.Message)
		}
	}
	return code
}

func shebaGenerate(env Env, args []string) int {
	fs := newFlags(env, "sheba generate", "sheba generate --bank CODE --account DIGITS [--type 0-3]")
	bank := fs.String("bank", "", "the bank's 3-digit CBI code, e.g. 017")
	account := fs.String("account", "", "the account number, up to 18 digits (left-padded with zeros)")
	typ := fs.Int("type", 0, "the account-type digit, 0-3")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 || *bank == "" || *account == "" {
		return usageError(env, "usage: tasvieh sheba generate --bank CODE --account DIGITS [--type 0-3]")
	}
	x, err := sheba.Generate(*bank, *typ, *account)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh sheba generate:", err)
		return exitInvalid
	}
	fmt.Fprintln(env.Stdout, x.String())
	if b, ok := banks.Default().ByCode(*bank); !ok || !b.Active() {
		fmt.Fprintf(env.Stderr, "warning: bank %s is not an active member; validation will reject this SHEBA\n", *bank)
	}
	return exitOK
}

type cardResult struct {
	Input    string   `json:"input"`
	Valid    bool     `json:"valid"`
	PAN      string   `json:"pan"`
	BIN      string   `json:"bin"`
	BankCode string   `json:"bank_code"`
	Bank     string   `json:"bank"`
	Error    *idError `json:"error,omitempty"`
}

func runCard(ctx context.Context, env Env, args []string) int {
	const help = "usage: tasvieh card validate [--json] PAN...\n       tasvieh card generate --bin BIN [--serial N]"
	if len(args) == 0 {
		return usageError(env, help)
	}
	switch args[0] {
	case "validate":
		return cardValidate(env, args[1:])
	case "generate":
		return cardGenerate(env, args[1:])
	case "-h", "--help":
		fmt.Fprintln(env.Stdout, help)
		return exitOK
	}
	return usageError(env, "card: unknown action %q\n%s", args[0], help)
}

func cardValidate(env Env, args []string) int {
	fs := newFlags(env, "card validate", "card validate [--json] PAN...")
	asJSON := fs.Bool("json", false, "one JSON object per input per line")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(inputs) == 0 {
		return usageError(env, "card validate: give at least one card number")
	}
	reg := banks.Default()
	enc := json.NewEncoder(env.Stdout)
	code := exitOK
	for _, in := range inputs {
		r := cardResult{Input: in}
		pan, bank, err := card.Parse(in, reg)
		if err != nil {
			code = exitInvalid
			var e *card.Error
			if errors.As(err, &e) {
				r.Error = &idError{Code: string(e.Code), Message: e.Message, Position: e.Position}
			} else {
				r.Error = &idError{Code: "invalid", Message: err.Error()}
			}
		} else {
			r.Valid, r.PAN, r.BIN, r.BankCode, r.Bank = true, pan.String(), pan.BIN(), bank.Code, bank.Name
		}
		if *asJSON {
			_ = enc.Encode(r)
			continue
		}
		if r.Valid {
			fmt.Fprintf(env.Stdout, "%s\tvalid\tBIN %s → %s %s\n", pan.Masked(), r.BIN, r.BankCode, r.Bank)
		} else {
			fmt.Fprintf(env.Stdout, "%s\tinvalid\t%s: %s\n", in, r.Error.Code, r.Error.Message)
		}
	}
	return code
}

func cardGenerate(env Env, args []string) int {
	fs := newFlags(env, "card generate", "card generate --bin BIN [--serial N]")
	bin := fs.String("bin", "", "the 6-digit BIN, e.g. 603799")
	serial := fs.String("serial", "1", "the 9-digit serial inside the card number")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagExit(err)
	}
	n, perr := strconv.ParseUint(*serial, 10, 64)
	if len(pos) != 0 || *bin == "" || perr != nil {
		return usageError(env, "usage: tasvieh card generate --bin BIN [--serial N]")
	}
	p, err := card.Generate(*bin, n)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tasvieh card generate:", err)
		return exitInvalid
	}
	fmt.Fprintln(env.Stdout, p.String())
	return exitOK
}

type bankJSON struct {
	Code      string   `json:"code"`
	NameEN    string   `json:"name_en"`
	NameFA    string   `json:"name_fa"`
	BINs      []string `json:"bins"`
	BIC       string   `json:"bic,omitempty"`
	Status    string   `json:"status"`
	Successor string   `json:"successor,omitempty"`
	Since     string   `json:"since,omitempty"`
}

func runBanks(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] != "list" {
		return usageError(env, "usage: tasvieh banks list [--json]")
	}
	fs := newFlags(env, "banks list", "banks list [--json]")
	asJSON := fs.Bool("json", false, "one JSON object per bank per line")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		return usageError(env, "banks list takes no arguments")
	}
	enc := json.NewEncoder(env.Stdout)
	for _, b := range banks.Default().All() {
		if *asJSON {
			_ = enc.Encode(bankJSON{b.Code, b.NameEN, b.NameFA, b.BINs, b.BIC, string(b.Status), b.Successor, b.Since})
			continue
		}
		status := string(b.Status)
		if b.Successor != "" {
			status += " into " + b.Successor
			if b.Since != "" {
				status += " (" + b.Since + ")"
			}
		}
		fmt.Fprintf(env.Stdout, "%s  %-40s %-9s %-28s %s\n", b.Code, b.NameEN, b.BIC, status, strings.Join(b.BINs, ","))
	}
	return exitOK
}
