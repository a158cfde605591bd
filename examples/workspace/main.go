// Command shop prints a priced inventory report.
package main

import (
	"fmt"
	"os"

	"example.com/shop/inventory"
	"example.com/shop/pricing"
	"example.com/shop/report"
)

func main() {
	stock := inventory.New()
	stock.Add(inventory.Item{SKU: "gopher-plush", Name: "Gopher plush", Quantity: 12, UnitCents: 1599})
	stock.Add(inventory.Item{SKU: "go-mug", Name: "Go mug", Quantity: 40, UnitCents: 899})

	total := pricing.Total(stock.Items(), pricing.Discount{Percent: 10})
	if err := report.Write(os.Stdout, stock.Items(), total); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}
