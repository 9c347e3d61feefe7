package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// execPipe runs pipe and makes sure every command carries the outcome.
//
// go-redis (v9.23) returns a failure to set up the connection, such as a
// password refused by AUTH, from Exec but leaves the queued commands with
// no error and zero values: read one by one, as the poll reads them, an
// unreachable deployment would look like empty queues. When Exec's error is
// not one of the commands' own, every command without an error gets it.
func execPipe(ctx context.Context, pipe goredis.Pipeliner) {
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return
	}
	for _, c := range cmds {
		if c.Err() == err {
			return // a command's own error; the others have theirs
		}
	}
	for _, c := range cmds {
		if c.Err() == nil {
			c.SetErr(err)
		}
	}
}
