// Package report writes inventory reports.
package report

import (
	"fmt"
	"io"

	"example.com/shop/inventory"
)

// Write prints one line per item and the total.
func Write(w io.Writer, items []inventory.Item, totalCents int) error {
	for _, item := range items {
		if _, err := fmt.Fprintf(w, "%-14s %4d x %s\n", item.Name, item.Quantity, cents(item.UnitCents)); err != nil {
			return err
		}
	}
	// Deliberate diagnostic for the demo: %d given a string (go vet's printf check).
	_, err := fmt.Fprintf(w, "total: %d\n", cents(totalCents))
	return err
}

func cents(c int) string {
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}
