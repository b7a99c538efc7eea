package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tasvieh/tasvieh/outbox"
)

// Defaults for the zero values of Config.
const (
	// clientIDDefault names this process to the brokers.
	clientIDDefault = "tasvieh"
	// partitionsDefault is the partition count of created topics: more than the ~30 bank codes would
	// serialise banks behind each other for nothing, fewer limits how many consumers a group can spread
	// over. Sixteen lets a group grow to sixteen members.
	partitionsDefault = 16
	// sessionTimeoutDefault is how long a silent consumer keeps its partitions. Kafka's brokers refuse
	// less than 6 s by default (group.min.session.timeout.ms); 10 s is kafka-go's and Kafka's old default.
	sessionTimeoutDefault = 10 * time.Second
	// heartbeatIntervalDefault bounds how long a member takes to notice a rebalance; Kafka suggests no
	// more than a third of the session timeout.
	heartbeatIntervalDefault = time.Second
	// rebalanceTimeoutDefault is how long the coordinator waits for members to rejoin a rebalance.
	rebalanceTimeoutDefault = 10 * time.Second
	// fetchWaitDefault is the longest a fetch waits on the broker when there is nothing new. A fetch
	// returns as soon as one byte is ready, so this only sets how often an idle consumer polls and how
	// quickly it can stop.
	fetchWaitDefault = 500 * time.Millisecond
)

// Limits.
const (
	// partitionsMax bounds Config.Partitions. Kafka's guidance is a few thousand partitions per broker;
	// one topic of a simulator has no use for more than this.
	partitionsMax = 1024
	// topicsMax bounds Config.Topics: one topic per rail and direction, plus notifications.
	topicsMax = 64
	// adminTimeout bounds topic creation and the metadata check at Start.
	adminTimeout = 10 * time.Second
	// dialTimeout bounds opening one broker connection.
	dialTimeout = 5 * time.Second
	// fetchWaitMin bounds Config.FetchWait from below: shorter long-polls only burn CPU on both ends.
	fetchWaitMin = 10 * time.Millisecond
	// embeddedSessionTimeoutMin lets the embedded broker accept the short session timeouts tests use;
	// a real broker's floor is its own group.min.session.timeout.ms.
	embeddedSessionTimeoutMin = 100 * time.Millisecond
)

// Config says which cluster to use and how to use it. The zero value of every field but Topics has a
// default, given with the field.
type Config struct {
	// Brokers lists host:port seeds of a real cluster. Empty starts an embedded broker in-process on
	// 127.0.0.1 with an ephemeral port; it keeps everything in memory and loses it on Close.
	Brokers []string
	// ClientID names this process in the brokers' logs and quotas. Default "tasvieh".
	ClientID string
	// Topics are created at Start when missing, each with its dead-letter topic (DeadLetterTopic), so a
	// name may be at most 245 bytes. An existing topic is left as it is.
	Topics []string
	// Partitions is the partition count of each created topic. Default 16, at most 1024.
	Partitions int
	// ReplicationFactor of each created topic. Zero lets the broker choose (default.replication.factor).
	// Ignored by the embedded broker.
	ReplicationFactor int
	// SessionTimeout is how long a consumer may stay silent before its group gives its partitions to
	// another member. Default 10 s. A real broker refuses values outside its
	// group.min/max.session.timeout.ms (6 s to 30 min by default); the embedded one accepts 100 ms up.
	SessionTimeout time.Duration
	// HeartbeatInterval is how often a consumer heartbeats, and so how quickly it notices a rebalance.
	// Default 1 s; keep it under a third of SessionTimeout.
	HeartbeatInterval time.Duration
	// RebalanceTimeout is how long the coordinator waits for every member to rejoin during a rebalance.
	// Default 10 s.
	RebalanceTimeout time.Duration
	// FetchWait is the longest a fetch waits on the broker when no message is ready. Default 500 ms,
	// at least 10 ms.
	FetchWait time.Duration
	// CommitInterval batches offset commits. Zero (the default) commits each message synchronously
	// after its handler returns. A positive interval commits in the background at most that often,
	// still only offsets whose handler succeeded; a crash then replays up to one interval of messages.
	CommitInterval time.Duration
}

func (cfg Config) withDefaults() Config {
	if cfg.ClientID == "" {
		cfg.ClientID = clientIDDefault
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = partitionsDefault
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = sessionTimeoutDefault
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = heartbeatIntervalDefault
	}
	if cfg.RebalanceTimeout == 0 {
		cfg.RebalanceTimeout = rebalanceTimeoutDefault
	}
	if cfg.FetchWait == 0 {
		cfg.FetchWait = fetchWaitDefault
	}
	cfg.Brokers = slices.Clone(cfg.Brokers)
	cfg.Topics = slices.Clone(cfg.Topics)
	return cfg
}

func (cfg Config) validate() error {
	switch {
	case cfg.Partitions < 1 || cfg.Partitions > partitionsMax:
		return fmt.Errorf("kafka: config: partitions %d not in 1..%d", cfg.Partitions, partitionsMax)
	case len(cfg.Topics) > topicsMax:
		return fmt.Errorf("kafka: config: %d topics, more than the limit of %d", len(cfg.Topics), topicsMax)
	case cfg.ReplicationFactor < 0:
		return fmt.Errorf("kafka: config: negative replication factor %d", cfg.ReplicationFactor)
	case cfg.SessionTimeout < 0 || cfg.HeartbeatInterval < 0 || cfg.RebalanceTimeout < 0 ||
		cfg.FetchWait < 0 || cfg.CommitInterval < 0:
		return errors.New("kafka: config: negative duration")
	case cfg.FetchWait < fetchWaitMin:
		return fmt.Errorf("kafka: config: fetch wait %v under the minimum %v", cfg.FetchWait, fetchWaitMin)
	case cfg.HeartbeatInterval >= cfg.SessionTimeout:
		return fmt.Errorf("kafka: config: heartbeat interval %v not shorter than session timeout %v",
			cfg.HeartbeatInterval, cfg.SessionTimeout)
	}
	for i, b := range cfg.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka: config: broker %d %q: %w", i, b, err)
		}
	}
	for i, t := range cfg.Topics {
		if err := outbox.ValidateTopic(t); err != nil {
			return fmt.Errorf("kafka: config: topic %d: %w", i, err)
		}
		if err := outbox.ValidateTopic(DeadLetterTopic(t)); err != nil {
			return fmt.Errorf("kafka: config: dead-letter topic of topic %d: %w", i, err)
		}
	}
	return nil
}

// Cluster is a connection to a Kafka cluster, embedded or real. It is safe for concurrent use.
type Cluster struct {
	cfg       Config
	brokers   []string
	fake      *kfake.Cluster // nil when the cluster is real
	transport *kafkago.Transport
	dialer    *kafkago.Dialer
	log       *slog.Logger

	closeOnce sync.Once
}

// Start connects to cfg.Brokers, or starts an embedded broker when there are none, and creates the
// topics in cfg.Topics that are missing, and their dead-letter topics. A nil log discards. Close the
// Cluster when done.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, brokers: cfg.Brokers, log: log}
	if len(c.brokers) == 0 {
		fake, err := kfake.NewCluster(
			kfake.NumBrokers(1), // no port given: 127.0.0.1 and an ephemeral port
			kfake.ClusterID("tasvieh-embedded"),
			kfake.GroupMinSessionTimeout(embeddedSessionTimeoutMin),
			kfake.WithLogger(kfakeLogger{log: log.With("component", "kfake")}),
		)
		if err != nil {
			return nil, fmt.Errorf("kafka: start embedded broker: %w", err)
		}
		c.fake = fake
		c.brokers = fake.ListenAddrs()
	}
	c.transport = &kafkago.Transport{ClientID: cfg.ClientID, DialTimeout: dialTimeout}
	c.dialer = &kafkago.Dialer{ClientID: cfg.ClientID, Timeout: dialTimeout}

	topics := make([]string, 0, 2*len(cfg.Topics))
	for _, t := range cfg.Topics {
		topics = append(topics, t, DeadLetterTopic(t))
	}
	if err := c.ensureTopics(ctx, topics); err != nil {
		c.Close()
		return nil, err
	}
	log.Info("kafka ready", "brokers", c.brokers, "embedded", c.Embedded(), "topics", cfg.Topics)
	return c, nil
}

// ensureTopics creates the topics that are missing, with the configured partition count and replication
// factor, then checks that every one of them is served, which also proves a real cluster reachable when
// there are no topics to create. The embedded broker and a real cluster take the same CreateTopics request;
// only the replication factor differs (the embedded broker ignores it).
func (c *Cluster) ensureTopics(ctx context.Context, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(c.brokers...), Transport: c.transport, Timeout: adminTimeout}

	if len(topics) > 0 {
		rf := c.cfg.ReplicationFactor
		if rf == 0 || c.Embedded() {
			rf = -1 // the broker's default
		}
		req := &kafkago.CreateTopicsRequest{}
		for _, t := range topics {
			req.Topics = append(req.Topics, kafkago.TopicConfig{Topic: t, NumPartitions: c.cfg.Partitions, ReplicationFactor: rf})
		}
		res, err := client.CreateTopics(ctx, req)
		if err != nil {
			return fmt.Errorf("kafka: create topics on %v: %w", c.brokers, err)
		}
		for _, t := range topics {
			switch err := res.Errors[t]; {
			case err == nil:
				c.log.Info("kafka topic created", "topic", t, "partitions", c.cfg.Partitions)
			case errors.Is(err, kafkago.TopicAlreadyExists):
			default:
				return fmt.Errorf("kafka: create topic %q: %w", t, err)
			}
		}
	}

	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("kafka: metadata from %v: %w", c.brokers, err)
	}
	for _, t := range md.Topics {
		if !slices.Contains(topics, t.Name) {
			continue // with no topics asked for, the broker describes all of its own
		}
		if t.Error != nil {
			return fmt.Errorf("kafka: topic %q: %w", t.Name, t.Error)
		}
		if len(t.Partitions) != c.cfg.Partitions {
			c.log.Warn("kafka topic has a different partition count than configured",
				"topic", t.Name, "partitions", len(t.Partitions), "configured", c.cfg.Partitions)
		}
	}
	return nil
}

// Brokers returns the seed addresses in use: the configured ones, or the embedded broker's.
func (c *Cluster) Brokers() []string { return slices.Clone(c.brokers) }

// Embedded reports whether the cluster is the in-process broker.
func (c *Cluster) Embedded() bool { return c.fake != nil }

// Close releases the cluster's idle connections and, when embedded, stops the broker, losing everything
// it held. Close publishers and stop consumers first. Close is idempotent.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.transport.CloseIdleConnections()
		if c.fake != nil {
			c.fake.Close()
		}
	})
	return nil
}
