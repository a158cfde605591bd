// Package pricing computes totals for inventory items.
package pricing

import "example.com/shop/inventory"

// Discount is a percentage taken off a total.
type Discount struct {
	Percent int
}

// Apply returns cents reduced by the discount, rounded down.
func (d Discount) Apply(cents int) int {
	return cents * (100 - d.Percent) / 100
}

// Total sums quantity times unit price over items and applies the discount.
func Total(items []inventory.Item, discount Discount) int {
	sum := 0
	for _, item := range items {
		sum += item.Quantity * item.UnitCents
	}
	return discount.Apply(sum)
}
