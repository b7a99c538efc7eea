package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// slogPrintf adapts a slog.Logger to kafka-go's Printf-style Logger at one level. It formats only when
// the level is enabled: kafka-go logs every batch it writes and every fetch it makes.
func slogPrintf(log *slog.Logger, level slog.Level) kafkago.Logger {
	return kafkago.LoggerFunc(func(format string, args ...any) {
		ctx := context.Background()
		if log.Enabled(ctx, level) {
			log.Log(ctx, level, strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"))
		}
	})
}

// slogErrors adapts a slog.Logger to kafka-go's ErrorLogger at warn, except that errors caused by our
// own cancellation — kafka-go reports every partition reader it stops as failing with "context
// canceled" — go to debug.
func slogErrors(log *slog.Logger) kafkago.Logger {
	return kafkago.LoggerFunc(func(format string, args ...any) {
		ctx := context.Background()
		if !log.Enabled(ctx, slog.LevelDebug) && !log.Enabled(ctx, slog.LevelWarn) {
			return
		}
		msg := strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")
		level := slog.LevelWarn
		if strings.Contains(msg, context.Canceled.Error()) {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, msg)
	})
}

// kfakeLogger adapts a slog.Logger to the embedded broker's Logger. The broker's info level describes
// every request, so it goes to debug.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var sl slog.Level
	switch level {
	case kfake.LogLevelError:
		sl = slog.LevelError
	case kfake.LogLevelWarn:
		sl = slog.LevelWarn
	case kfake.LogLevelNone:
		return
	default:
		sl = slog.LevelDebug
	}
	ctx := context.Background()
	if l.log.Enabled(ctx, sl) {
		l.log.Log(ctx, sl, fmt.Sprintf(format, args...))
	}
}
