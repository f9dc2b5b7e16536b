"""Deterministic sample data for the example retail pipeline (stdlib only).

    python notebooks/data/generate.py --out DIR [--orders N] [--seed S]

Writes `orders.csv`, `order_items.csv`, `customers.csv` and `products.csv` (with headers). The same
`orders` and `seed` always give byte-identical files. A few rows are dirty on purpose, for the silver
layer to clean: duplicate rows, empty quantities and prices, a zero quantity, an order without a date,
an order of an unknown customer, untrimmed or oddly cased strings.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import random

DEFAULT_ORDERS = 100
DEFAULT_SEED = 42
FIRST_ORDER_DATE = datetime.date(2023, 1, 1)
LAST_ORDER_DATE = datetime.date(2025, 12, 31)
UNKNOWN_CUSTOMER_ID = 999

COLUMNS = {
    "products.csv": ["product_id", "product_name", "category", "unit_price"],
    "customers.csv": ["customer_id", "customer_name", "email", "city", "region", "signup_date"],
    "orders.csv": ["order_id", "customer_id", "order_date", "required_date", "shipped_date", "status"],
    "order_items.csv": ["order_id", "line_no", "product_id", "quantity", "unit_price", "discount_pct"],
}

CATALOGUE = [
    ("Espresso Beans 1kg", "Beverages", 18.90),
    ("Green Tea 100 bags", "Beverages", 6.49),
    ("Sparkling Water 6x1l", "Beverages", 4.29),
    ("Sourdough Loaf", "Bakery", 3.80),
    ("Butter Croissant 4pk", "Bakery", 4.15),
    ("Rye Crispbread", "Bakery", 2.95),
    ("Aged Gouda 500g", "Dairy", 9.75),
    ("Greek Yogurt 1kg", "Dairy", 4.60),
    ("Oat Milk 1l", "Dairy", 2.35),
    ("Olive Oil 750ml", "Pantry", 11.20),
    ("Basmati Rice 2kg", "Pantry", 7.45),
    ("Dark Chocolate 200g", "Pantry", 3.10),
    ("Laundry Detergent 3l", "Household", 14.99),
    ("Dish Soap 1l", "Household", 3.25),
    ("Paper Towels 8 rolls", "Household", 8.60),
]
FIRST_NAMES = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Klara", "Leon"]
LAST_NAMES = ["Becker", "Fischer", "Hoffmann", "Keller", "Lang", "Meyer", "Neumann", "Richter", "Schulz", "Wolf"]
CITIES = {
    "North": ["Hamburg", "Bremen", "Kiel"],
    "South": ["Munich", "Stuttgart", "Nuremberg"],
    "East": ["Berlin", "Dresden", "Leipzig"],
    "West": ["Cologne", "Dusseldorf", "Dortmund"],
}


def generate(out_dir: str, orders: int = DEFAULT_ORDERS, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Write the four CSVs of `orders` orders into `out_dir`; returns {file name: path}."""
    if orders < 10:
        raise ValueError(f"orders must be at least 10 (the dirty rows need room), got {orders}.")
    rng = random.Random(seed)
    products = _products(orders)
    customers = _customers(rng, max(8, orders // 6))
    order_rows, item_rows = _orders(rng, orders, products, customers)
    tables = {
        "products.csv": products,
        "customers.csv": customers,
        "orders.csv": order_rows,
        "order_items.csv": item_rows,
    }
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name, rows in tables.items():
        paths[name] = os.path.join(out_dir, name)
        with open(paths[name], "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS[name])
            writer.writerows(rows)
    return paths


def _products(orders: int) -> list[list]:
    count = min(len(CATALOGUE), max(8, orders // 12))
    rows = [[100 + i, name, category, f"{price:.2f}"] for i, (name, category, price) in enumerate(CATALOGUE[:count])]
    rows[1][1] = f"  {rows[1][1]} "  # untrimmed name
    rows[4][2] = f"{rows[4][2]} "  # untrimmed category
    return rows


def _customers(rng: random.Random, count: int) -> list[list]:
    regions = list(CITIES)
    rows = []
    for i in range(count):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7) % len(LAST_NAMES)]
        region = regions[rng.randrange(len(regions))]
        signup = FIRST_ORDER_DATE - datetime.timedelta(days=rng.randrange(30, 900))
        email = f"{first}.{last}{i + 1}@example.com".lower()
        rows.append([i + 1, f"{first} {last}", email, rng.choice(CITIES[region]), region, signup.isoformat()])
    rows[0][1] = f" {rows[0][1]}  "  # untrimmed name
    rows[2][4] = f" {rows[2][4].lower()}"  # untrimmed, lower-case region
    rows[3][4] = rows[3][4].upper()  # upper-case region
    rows[5][2] = rows[5][2].upper()  # upper-case e-mail
    duplicate = list(rows[6])
    duplicate[1] = f"{duplicate[1]} "  # the same customer again, name untrimmed
    rows.insert(7, duplicate)
    return rows


def _orders(rng: random.Random, count: int, products: list[list], customers: list[list]):
    span = (LAST_ORDER_DATE - FIRST_ORDER_DATE).days
    customer_ids = sorted({row[0] for row in customers})
    dates = sorted(FIRST_ORDER_DATE + datetime.timedelta(days=rng.randrange(span + 1)) for _ in range(count))
    orders, items = [], []
    for i, order_date in enumerate(dates):
        order_id = 10001 + i
        required = order_date + datetime.timedelta(days=rng.choice([7, 10, 14]))
        roll = rng.random()
        if roll < 0.05:
            status, shipped = "cancelled", ""
        elif roll < 0.12:
            status, shipped = "pending", ""
        else:
            status, shipped = "shipped", (order_date + datetime.timedelta(days=rng.randint(1, 16))).isoformat()
        customer_id = customer_ids[rng.randrange(len(customer_ids))]
        orders.append([order_id, customer_id, order_date.isoformat(), required.isoformat(), shipped, status])
        for line_no in range(1, rng.randint(1, 4) + 1):
            product = products[rng.randrange(len(products))]
            discount = rng.choice([0, 0, 0, 5, 10, 15])
            items.append([order_id, line_no, product[0], rng.randint(1, 12), product[3], discount])
    _make_orders_dirty(orders)
    _make_items_dirty(items)
    return orders, items


def _make_orders_dirty(orders: list[list]) -> None:
    """Dirty rows around the middle of the date range (the default year 2024) and one early on."""
    mid = len(orders) // 2
    orders[mid - 4][5] = f" {orders[mid - 4][5].capitalize()} "  # untrimmed, capitalised status
    orders[mid - 2][1] = UNKNOWN_CUSTOMER_ID  # a customer missing from customers.csv
    orders[mid + 3][2] = ""  # an order without a date: dropped
    noisy_copy = list(orders[mid - 1])
    noisy_copy[5] = noisy_copy[5].upper()  # the same order again, status upper-cased
    orders.insert(mid, noisy_copy)
    for index in (mid + 2, 5):  # exact duplicates
        orders.insert(index + 1, list(orders[index]))


def _make_items_dirty(items: list[list]) -> None:
    """Dirty lines around the middle of the date range and one early on."""
    mid = len(items) // 2
    items[mid - 6][4] = ""  # null price
    items[mid - 3][3] = ""  # null quantity
    items[mid][3] = 0  # zero quantity
    items[mid + 4][4] = ""  # null price
    for index in (mid + 7, mid - 9, 3):  # exact duplicates
        items.insert(index + 1, list(items[index]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write the CSVs to (created if missing)")
    parser.add_argument(
        "--orders", type=int, default=DEFAULT_ORDERS, help=f"number of orders (default {DEFAULT_ORDERS})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    options = parser.parse_args(argv)
    try:
        paths = generate(options.out, orders=options.orders, seed=options.seed)
    except ValueError as e:
        parser.error(str(e))
    print("\n".join(paths.values()))


if __name__ == "__main__":
    main()
