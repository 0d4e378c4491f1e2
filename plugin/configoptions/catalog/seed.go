package catalog

import "github.com/shopspring/decimal"

// SeedGroups returns the Build-Your-Own groups a fresh install offers: a
// VPS, a MySQL database and a game server. IDs are zero (the store assigns
// them); every group is active and passes ValidateGroup.
//
// Prices, monthly / hourly (quarterly, semi-annual and annual are the
// monthly price x 3, 6 and 12, no discount; BYO bills the monthly cap
// anyway):
//
//	VPS    CPU core       2.00 / 0.003    slider 1-16 cores
//	       GB RAM         1.00 / 0.0015   slider 1-64 GB
//	       GB SSD         0.05 / 0.0001   slider 25-1000 GB, step 25
//	MySQL  GB storage     0.20 / 0.0003   slider 5-500 GB, step 5
//	       connection     0.05 / 0.0001   slider 50-1000, step 50
//	       daily backups  2.00 / none     checkbox (no hourly price: adds
//	                                      nothing to the hourly rate, 2.00
//	                                      to the monthly cap)
//	Game   GB RAM         1.50 / 0.002    slider 1-16 GB
//	       GB storage     0.08 / 0.0001   slider 10-200 GB, step 10
//	       player slot    0.05 / 0.0001   slider 10-200, step 10
func SeedGroups() []Group {
	return []Group{
		{
			Name:        "Build your own VPS",
			Description: "Pick the cores, memory and SSD storage of your virtual server.",
			Mode:        BuildYourOwn,
			ServiceType: "vps",
			Active:      true,
			Sort:        1,
			Options: []Option{
				seedSlider("CPU cores", "cpu_cores", "cores", 1, 16, 1, "2.00", "0.003", 1),
				seedSlider("RAM", "ram_gb", "GB", 1, 64, 1, "1.00", "0.0015", 2),
				seedSlider("SSD storage", "disk_gb", "GB", 25, 1000, 25, "0.05", "0.0001", 3),
			},
		},
		{
			Name:        "Build your own MySQL",
			Description: "Pick the storage and connections of your MySQL database.",
			Mode:        BuildYourOwn,
			ServiceType: "mysql",
			Active:      true,
			Sort:        2,
			Options: []Option{
				seedSlider("Storage", "storage_gb", "GB", 5, 500, 5, "0.20", "0.0003", 1),
				seedSlider("Connections", "connections", "connections", 50, 1000, 50, "0.05", "0.0001", 2),
				{
					Name:            "Daily backups",
					Description:     "A backup of the database every day.",
					Type:            Checkbox,
					ProvisioningKey: "backups",
					Active:          true,
					Sort:            3,
					Values: []Value{{
						Label:  "Daily backups",
						Raw:    "1",
						Prices: columns("2.00", ""),
						Active: true,
						Sort:   1,
					}},
				},
			},
		},
		{
			Name:        "Build your own game server",
			Description: "Pick the memory, storage and player slots of your game server.",
			Mode:        BuildYourOwn,
			ServiceType: "game",
			Active:      true,
			Sort:        3,
			Options: []Option{
				seedSlider("RAM", "ram_gb", "GB", 1, 16, 1, "1.50", "0.002", 1),
				seedSlider("Storage", "disk_gb", "GB", 10, 200, 10, "0.08", "0.0001", 2),
				seedSlider("Player slots", "player_slots", "slots", 10, 200, 10, "0.05", "0.0001", 3),
			},
		},
	}
}

func seedSlider(name, key, unit string, lo, hi, step int64, monthly, hourly string, sort int) Option {
	return Option{
		Name:            name,
		Type:            Slider,
		ProvisioningKey: key,
		Required:        true,
		Active:          true,
		Min:             lo,
		Max:             hi,
		Step:            step,
		Unit:            unit,
		UnitPrices:      columns(monthly, hourly),
		Sort:            sort,
	}
}

// columns builds the five price columns from a monthly price (x 3, 6, 12
// for the longer terms) and an hourly one ("" for none).
func columns(monthly, hourly string) Prices {
	m := decimal.RequireFromString(monthly)
	at := func(n int64) *decimal.Decimal {
		d := m.Mul(decimal.NewFromInt(n))
		return &d
	}
	p := Prices{Monthly: at(1), Quarterly: at(3), SemiAnnual: at(6), Annual: at(12)}
	if hourly != "" {
		h := decimal.RequireFromString(hourly)
		p.Hourly = &h
	}
	return p
}
