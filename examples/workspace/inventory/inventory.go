// Package inventory keeps track of the items a shop has in stock.
package inventory

import (
	"sort"
	"sync"
)

// Item is one product line in the inventory.
type Item struct {
	SKU       string
	Name      string
	Quantity  int
	UnitCents int
}

// Inventory is a concurrency-safe set of items keyed by SKU.
type Inventory struct {
	mu    sync.Mutex
	items map[string]Item
}

// New returns an empty inventory.
func New() *Inventory {
	return &Inventory{items: make(map[string]Item)}
}

// Add puts an item into the inventory, adding to the quantity of an existing SKU.
func (inv *Inventory) Add(item Item) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if existing, ok := inv.items[item.SKU]; ok {
		item.Quantity += existing.Quantity
	}
	inv.items[item.SKU] = item
}

// Remove takes up to n units of a SKU out of stock and reports how many were taken.
func (inv *Inventory) Remove(sku string, n int) int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	item, ok := inv.items[sku]
	if !ok {
		return 0
	}
	taken := min(n, item.Quantity)
	item.Quantity -= taken
	inv.items[sku] = item
	return taken
}

// Items returns the items sorted by SKU.
func (inv *Inventory) Items() []Item {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]Item, 0, len(inv.items))
	for _, item := range inv.items {
		out = append(out, item)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out
}
