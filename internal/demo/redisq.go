package demo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RedisOptions describe the Redis list workload: a job queue that producers
// RPUSH to and workers LPOP from.
type RedisOptions struct {
	Addr         string
	List         string
	ListLength   float64 // the trigger's per-replica target
	ConsumerRate float64 // jobs per second one worker finishes
	RateScale    float64 // multiplies the phase rates
}

type redisWorkload struct {
	o       RedisOptions
	cl      *redis.Client
	prod    budget
	workers []budget
	seq     int
}

func newRedisWorkload(o RedisOptions) *redisWorkload {
	return &redisWorkload{o: o, cl: redis.NewClient(&redis.Options{Addr: o.Addr, Protocol: 2})}
}

func (w *redisWorkload) Name() string      { return w.o.List + " (redis)" }
func (w *redisWorkload) Partitions() int32 { return 0 }
func (w *redisWorkload) Close()            { w.cl.Close() }

func (w *redisWorkload) Triggers() []map[string]string {
	return []map[string]string{{
		"source": "redis", "address": w.o.Addr, "listName": w.o.List,
		"listLength": strconv.FormatFloat(w.o.ListLength, 'g', -1, 64),
	}}
}

func (w *redisWorkload) Step(ctx context.Context, replicas int32, rate, dt float64) (int64, int64, int64, error) {
	if len(w.workers) != int(replicas) {
		w.workers = make([]budget, replicas)
	}
	var consumed int64
	for i := range w.workers {
		n := w.workers[i].take(w.o.ConsumerRate, dt)
		for ; n > 0; n-- {
			err := w.cl.LPop(ctx, w.o.List).Err()
			if err == redis.Nil {
				break
			}
			if err != nil {
				return 0, 0, 0, fmt.Errorf("redis LPOP: %w", err)
			}
			consumed++
		}
	}
	produced := w.prod.take(rate*w.o.RateScale, dt)
	if produced > 0 {
		jobs := make([]any, produced)
		for i := range jobs {
			w.seq++
			jobs[i] = fmt.Sprintf("job-%d", w.seq)
		}
		if err := w.cl.RPush(ctx, w.o.List, jobs...).Err(); err != nil {
			return 0, 0, 0, fmt.Errorf("redis RPUSH: %w", err)
		}
	}
	depth, err := w.cl.LLen(ctx, w.o.List).Result()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("redis LLEN: %w", err)
	}
	return produced, consumed, depth, nil
}
