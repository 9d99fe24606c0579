package camsim

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// Run advances the camera in real time scaled by speed, once per tick, until
// ctx ends, and then returns nil. At speed 60 one real second records one
// minute of camera time. It returns the first error of Advance.
func (c *Camera) Run(ctx context.Context, speed float64, tick time.Duration) error {
	if speed <= 0 {
		return fmt.Errorf("camsim: Run speed %v must be positive", speed)
	}
	if tick <= 0 {
		return fmt.Errorf("camsim: Run tick %v must be positive", tick)
	}

	ticker := time.NewTicker(tick)
	defer ticker.Stop()

	// Advance to the scaled time since start instead of adding per-tick
	// steps, so rounding and late ticks do not accumulate.
	begin := time.Now()
	var advanced time.Duration
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}

		target := time.Duration(float64(time.Since(begin)) * speed)
		if err := c.Advance(target - advanced); err != nil {
			return err
		}
		advanced = target
	}
}

// Record returns every segment the camera has opened, oldest first,
// including overwritten ones and the open one.
func (c *Camera) Record() []Recorded {
	c.mu.Lock()
	defer c.mu.Unlock()

	out := make([]Recorded, len(c.records))
	copy(out, c.records)
	for _, ch := range c.channels {
		if ch.open != nil {
			out[ch.open.record].SHA256 = hex.EncodeToString(ch.open.hash.Sum(nil))
		}
	}
	return out
}

// Open returns the open segment of the first channel, Config.Channel, or
// nil between a close and the next frame. Its SHA256 covers the bytes
// written so far.
func (c *Camera) Open() *Recorded {
	c.mu.Lock()
	defer c.mu.Unlock()

	ch := c.channels[0]
	if ch.open == nil {
		return nil
	}
	r := c.records[ch.open.record]
	r.SHA256 = hex.EncodeToString(ch.open.hash.Sum(nil))
	return &r
}

// Elapsed returns the camera time recorded since Config.Start.
func (c *Camera) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elapsed
}
