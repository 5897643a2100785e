package search

import (
	"slices"
	"strconv"
)

// PartialRange is the argument of the PARTIAL return option and fetch
// modifier (RFC 9394 section 4): partial-range-first = nz-number ":"
// nz-number counts results from the first (1 is the first result),
// partial-range-last = MINUS nz-number ":" MINUS nz-number from the last
// (-1 is the last). Lo <= Hi always: "a range 500:400 is the same as
// 400:500", and -500:-400 the same as -400:-500.
type PartialRange struct {
	Lo, Hi  uint32
	FromEnd bool
}

// String renders the range as the client is answered with it: "1:500",
// "-1:-100".
func (r PartialRange) String() string {
	b := make([]byte, 0, 24)
	return string(r.Append(b))
}

// Append appends the range's text to b.
func (r PartialRange) Append(b []byte) []byte {
	if r.FromEnd {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, uint64(r.Lo), 10)
	b = append(b, ':')
	if r.FromEnd {
		b = append(b, '-')
	}
	return strconv.AppendUint(b, uint64(r.Hi), 10)
}

// Window returns the half-open interval [from, to) of the indices, in a
// list of n results, that the range names. Results beyond the list are
// simply missing (RFC 9394 section 3.1): the window may be empty.
func (r PartialRange) Window(n int) (from, to int) {
	lo, hi := int(r.Lo), int(r.Hi)
	if !r.FromEnd {
		return min(lo-1, n), min(hi, n)
	}
	// -1 is index n-1, -hi is index n-hi.
	return max(n-hi, 0), max(n-lo+1, 0)
}

// Return holds the RETURN options of an extended SEARCH (RFC 4731 MIN,
// MAX, ALL, COUNT; RFC 5182 SAVE; RFC 9394 and RFC 5267 PARTIAL; RFC 5267
// CONTEXT and UPDATE). Extended SORT (RFC 5267 section 3, ESORT) takes the
// same options and answers them from a Result in sort order.
type Return struct {
	Min, Max, All, Count, Save bool
	Partial                    *PartialRange
	Update, Context            bool
}

// ReturnOf builds a Return from the option names (upper-case, as the
// grammar keeps them) and the PARTIAL range, nil when absent.
func ReturnOf(opts []string, partial *PartialRange) Return {
	r := Return{Partial: partial}
	for _, o := range opts {
		switch o {
		case "MIN":
			r.Min = true
		case "MAX":
			r.Max = true
		case "ALL":
			r.All = true
		case "COUNT":
			r.Count = true
		case "SAVE":
			r.Save = true
		case "UPDATE":
			r.Update = true
		case "CONTEXT":
			r.Context = true
		}
	}
	return r
}

// HasData reports whether an option asks for return data: with SAVE alone
// no ESEARCH response is sent (RFC 5182 section 2.4).
func (o Return) HasData() bool {
	return o.Min || o.Max || o.All || o.Count || o.Partial != nil
}

// Result is the outcome of a search or sort, in its order: mailbox order
// for SEARCH (RFC 5267 section 4.1), the requested order for SORT. IDs are
// message numbers or UIDs, as the command asked. ModSeqs is nil, or holds
// each result's mod-sequence when the criteria had MODSEQ (RFC 7162
// section 3.1.5).
type Result struct {
	IDs     []uint32
	ModSeqs []uint64
}

// Returned gives, ascending, the indices of the results the options
// return, which are also those SAVE keeps and over which MODSEQ is the
// highest: all of them with ALL or COUNT (or none of MIN, MAX, PARTIAL);
// otherwise only the MIN and MAX results and those in the PARTIAL window
// (RFC 5182 section 2.1; RFC 9394 section 3.2, table 1; RFC 4731 section
// 3.2 with RFC 7162 section 3.1.5).
func (r Result) Returned(o Return) []int {
	n := len(r.IDs)
	var idx []int
	if o.All || o.Count || !o.Min && !o.Max && o.Partial == nil {
		idx = make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	if n == 0 {
		return nil
	}
	if o.Partial != nil {
		from, to := o.Partial.Window(n)
		for i := from; i < to; i++ {
			idx = append(idx, i)
		}
	}
	if o.Min {
		idx = append(idx, 0)
	}
	if o.Max {
		idx = append(idx, n-1)
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// AppendData appends the search-return-data the options ask for: " MIN
// n", " MAX n", " ALL set", " PARTIAL (range set-or-NIL)", " COUNT n" and
// " MODSEQ n" when the result carries mod-sequences. MIN and MAX are the
// first and last results in the result's order (for SORT: the lowest and
// highest sorted message, RFC 5267 section 3.1); ALL and PARTIAL keep
// that order, folding only ascending runs into ranges.
func (r Result) AppendData(b []byte, o Return) []byte {
	n := len(r.IDs)
	if n > 0 {
		if o.Min {
			b = append(b, " MIN "...)
			b = strconv.AppendUint(b, uint64(r.IDs[0]), 10)
		}
		if o.Max {
			b = append(b, " MAX "...)
			b = strconv.AppendUint(b, uint64(r.IDs[n-1]), 10)
		}
		if o.All {
			b = append(b, " ALL "...)
			b = AppendOrderedSet(b, r.IDs)
		}
	}
	if o.Partial != nil {
		// RFC 9394 section 3.1: the range as asked, and NIL when no
		// result falls in it.
		b = append(b, " PARTIAL ("...)
		b = o.Partial.Append(b)
		from, to := o.Partial.Window(n)
		if from < to {
			b = append(b, ' ')
			b = AppendOrderedSet(b, r.IDs[from:to])
		} else {
			b = append(b, " NIL"...)
		}
		b = append(b, ')')
	}
	if o.Count {
		b = append(b, " COUNT "...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if len(r.ModSeqs) > 0 {
		var top uint64
		for _, i := range r.Returned(o) {
			top = max(top, r.ModSeqs[i])
		}
		if top > 0 {
			b = append(b, " MODSEQ "...)
			b = strconv.AppendUint(b, top, 10)
		}
	}
	return b
}

// AppendOrderedSet appends nums as a sequence-set that keeps their order:
// only runs of ascending consecutive numbers become ranges, so that
// [5 3 4 2] is "5,3:4,2" (RFC 5267 section 3.2: ranges in sorted results
// expand in increasing order). An ascending list comes out as compact as
// any sequence-set.
func AppendOrderedSet(b []byte, nums []uint32) []byte {
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(nums[i]), 10)
		if j > i {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(nums[j]), 10)
		}
		i = j + 1
	}
	return b
}
