package sources

import "errors"

// ErrNotFound marks a reading that failed because the thing it reads does not
// exist (a topic, a stream, a consumer group), as opposed to an upstream that
// cannot be reached. Wrap it with the name of what is missing.
var ErrNotFound = errors.New("not found")

// ErrUnavailable marks a reading that could not be taken or is too old to
// serve. The engine wraps every failed reading with it and the upstream name.
var ErrUnavailable = errors.New("unavailable")
