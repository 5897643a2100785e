package grammar

import (
	"bufio"
	"sync"
)

// BufferPool holds buffers that idle sessions gave back: a session waiting
// for its client keeps none. A few are kept across garbage collections
// (which empty a sync.Pool), so that a busy session going from command to
// command does not allocate a new one after each collection.
type BufferPool[T any] struct {
	mu   sync.Mutex
	free []T
	pool sync.Pool
}

// keptBuffers is how many free buffers of a pool outlive a collection.
const keptBuffers = 8

// NewBufferPool returns a pool that makes new buffers with make.
func NewBufferPool[T any](make func() T) *BufferPool[T] {
	return &BufferPool[T]{pool: sync.Pool{New: func() any { return make() }}}
}

// Get returns a free buffer, or a new one.
func (p *BufferPool[T]) Get() T {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return p.pool.Get().(T)
}

// Kept is how many free buffers the pool holds that a collection keeps.
func (p *BufferPool[T]) Kept() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// Put gives b back; the caller no longer uses it.
func (p *BufferPool[T]) Put(b T) {
	p.mu.Lock()
	if len(p.free) < keptBuffers {
		p.free = append(p.free, b)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.pool.Put(b)
}

// writers are the buffers of Writers that hold nothing.
var writers = NewBufferPool(func() *bufio.Writer { return bufio.NewWriterSize(nil, writeBuffer) })
