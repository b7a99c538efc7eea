package kafka_test

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tasvieh/tasvieh/kafka"
)

// A malformed message whose dead-letter write keeps failing (the broker refuses produce requests to the
// dead-letter topic only): the consumer must neither commit its offset nor pass it to handle the event behind
// it; a member that takes over after the fault is gone must dead-letter it, then handle the event.
func TestAdversary2DeadLetterTopicUnwritable(t *testing.T) {
	const topic, group = "notifications", "test-adv2-dlq"
	cfg := fastConfig(topic)
	c := startEmbedded(t, cfg)
	pub := c.NewPublisher()
	defer pub.Close()
	raw := &kafkago.Writer{Addr: kafkago.TCP(c.Brokers()...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{}, BatchTimeout: time.Millisecond}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	events := makeEvents(topic, 1, 2, 1)
	key := events[0].Key
	if err := pub.Publish(ctx, events[:1]); err != nil {
		t.Fatal(err)
	}
	if err := raw.WriteMessages(ctx, kafkago.Message{Key: []byte(key), Value: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, events[1:]); err != nil {
		t.Fatal(err)
	}

	fault := kafka.Fake(c).Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: kafka.DeadLetterTopic(topic),
		Err: kerr.NotEnoughReplicas, Count: -1})
	s := newSink()
	co, err := c.NewConsumer(group, topic, s.handle, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, co)
	eventually(t, "dead-letter write failing again and again", func() bool { return co.Stats().HandleFailuresInRow >= 3 })
	time.Sleep(300 * time.Millisecond)
	if st := co.Stats(); st.DeadLettered != 0 || s.unique() != 1 {
		t.Errorf("while the dead-letter topic refuses writes: %d dead-lettered, %d handled; want 0 and only the event before it",
			st.DeadLettered, s.unique())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fault.Remove()

	// The next member starts at the malformed message: it was not committed.
	s2 := newSink()
	co2, err := c.NewConsumer(group, topic, s2.handle, fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	runConsumer(t, co2)
	s2.waitFor(t, "the event behind the malformed message", func() bool { return s2.unique() >= 1 })
	eventually(t, "the malformed message dead-lettered", func() bool { return co2.Stats().DeadLettered == 1 })
	if got := s2.snapshot(); got[len(got)-1].ID != events[1].ID {
		t.Errorf("next member handled %v, want the second event last", got)
	}
	if dead := deadLetters(t, c, topic, cfg.Partitions); len(dead) != 1 {
		t.Errorf("dead-letter topic holds %d messages, want 1 (none written during the fault)", len(dead))
	}
}
