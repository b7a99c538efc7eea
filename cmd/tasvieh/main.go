// Command tasvieh is the clearing simulator's one binary: the identifier, bank, calendar and rulebook tools,
// the ledger's audit and benchmark, and the demo. It is the only place that reads flags and the environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitInvalid = 1 // an input was invalid, a check failed, a date is not a business day
	exitUsage   = 2 // the command line itself was wrong
)

// Env is the process environment as the binary sees it; tests pass their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"sheba":    {"validate or generate SHEBA numbers", runSHEBA},
		"card":     {"validate bank card numbers (PAN)", runCard},
		"calendar": {"business days and holidays (Jalali and Gregorian)", runCalendar},
		"banks":    {"the member-bank registry", runBanks},
		"rules":    {"the rulebook's dated figures", runRules},
		"db":       {"start or stop the private PostgreSQL cluster, migrate", runDB},
		"audit":    {"recompute every balance from the transfers and check the ledger", runAudit},
		"bench":    {"measure the ledger: naive vs batched writer; start-up with a large history", runBench},
		"demo":     {"a guided run of what tasvieh does today", runDemo},
		"serve":    {"run the switch and the simulated banks behind the HTTP API", runServe},
		"op":       {"operate a running server: clock, liquidity, banks, customers", runOp},
		"satna":    {"a bank's SATNA orders against a running server: submit, get, list, revoke, statement", runSATNA},
		"paya":     {"payroll files (validate, generate, upload) and a bank's PAYA entries, mandates and cycles", runPAYA},
		"shahab":   {"card-to-card transfers against a running server: inquiry, otp, transfer, get, list, answer; the operator's windows", runShahab},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// Main runs one command line and returns the process exit code.
func Main(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "tasvieh: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return exitUsage
	}
	return cmd.run(ctx, env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tasvieh COMMAND [ARGS]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tasvieh COMMAND --help' for a command's own usage.")
}

// usageError prints a usage message for a subcommand and returns exitUsage.
func usageError(env Env, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprint(env.Stderr, "tasvieh: "+msg)
	return exitUsage
}
