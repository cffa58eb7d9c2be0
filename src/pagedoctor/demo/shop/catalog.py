"""The demo's fixed catalogue: what ``seed_demo`` creates, and what ``AUDIT_URLS`` rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

# Product types: the slug stored in Product.type, and the name shown. The first ten are the
# menu's categories.
PRODUCT_TYPES: dict[str, str] = {
    "coffee": "Coffee",
    "tea": "Tea",
    "olive-oil": "Olive oil",
    "pasta": "Pasta",
    "sauces": "Sauces",
    "kitchen": "Kitchen",
    "ceramics": "Ceramics",
    "books": "Books",
    "garden": "Garden",
    "candles": "Candles",
    "glassware": "Glassware",
    "lamps": "Lamps",
    "posters": "Posters",
    "maps": "Maps",
    "music": "Music",
    "games": "Games",
    "toys": "Toys",
    "hats": "Hats",
    "bikes": "Bikes",
    "cameras": "Cameras",
}
MENU_TYPES = list(PRODUCT_TYPES)[:10]
DEFAULT_PRODUCT_TYPE = "coffee"

ADJECTIVES = [
    "Classic",
    "Golden",
    "Smoky",
    "Bright",
    "Rustic",
    "Tiny",
    "Grand",
    "Quiet",
    "Bold",
    "Silver",
    "Wild",
    "Humble",
    "Royal",
    "Sunny",
    "Misty",
    "Lucky",
]

# When the first product was added; product N was added N minutes later.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

SUPPLIERS = ["Campania Farms", "Alpine Dairy", "Ligurian Groves", "Po Valley Meats", "Etna Gardens"]

TOPPINGS: dict[str, str] = {
    "Tomato": "Campania Farms",
    "Mozzarella": "Alpine Dairy",
    "Basil": "Ligurian Groves",
    "Oregano": "Etna Gardens",
    "Garlic": "Campania Farms",
    "Anchovies": "Ligurian Groves",
    "Olives": "Ligurian Groves",
    "Capers": "Etna Gardens",
    "Ham": "Po Valley Meats",
    "Salami": "Po Valley Meats",
    "Mushrooms": "Alpine Dairy",
    "Artichokes": "Etna Gardens",
    "Gorgonzola": "Alpine Dairy",
    "Parmesan": "Alpine Dairy",
    "Rocket": "Campania Farms",
    "Prosciutto": "Po Valley Meats",
    "Peppers": "Campania Farms",
    "Onions": "Etna Gardens",
    "Sausage": "Po Valley Meats",
    "Aubergine": "Etna Gardens",
}

CHEFS = ["Raffaele", "Maria", "Enzo", "Sofia", "Gino", "Lucia"]

PIZZAS = [
    "Margherita",
    "Marinara",
    "Napoletana",
    "Romana",
    "Capricciosa",
    "Quattro Formaggi",
    "Quattro Stagioni",
    "Diavola",
    "Prosciutto e Funghi",
    "Ortolana",
    "Calzone",
    "Boscaiola",
    "Siciliana",
    "Pugliese",
    "Bufalina",
    "Parmigiana",
    "Tartufata",
    "Contadina",
    "Rustica",
    "Valtellina",
    "Salsiccia",
    "Carbonara",
    "Vegetariana",
    "Primavera",
    "Fiori di Zucca",
    "Tonno e Cipolla",
    "Bismarck",
    "Mediterranea",
    "Genovese",
    "Montanara",
]

FLOWERS: list[tuple[str, str, Decimal, str]] = [
    ("rose", "Rose", Decimal("4.50"), "The classic, in red, white and blush."),
    ("tulip", "Tulip", Decimal("2.20"), "Straight from the spring fields."),
    ("sunflower", "Sunflower", Decimal("3.80"), "Tall, bright and always facing the light."),
    ("lily", "Lily", Decimal("5.10"), "Large white trumpets with a heavy scent."),
    ("orchid", "Orchid", Decimal("12.00"), "A potted moth orchid that flowers for months."),
    ("peony", "Peony", Decimal("6.40"), "Round, ruffled blooms for early summer."),
    ("daisy", "Daisy", Decimal("1.50"), "Simple and cheerful, by the bunch."),
    ("lavender", "Lavender", Decimal("3.20"), "Dried bundles that scent a whole room."),
    ("iris", "Iris", Decimal("2.90"), "Deep blue petals on slender stems."),
    ("dahlia", "Dahlia", Decimal("4.10"), "Late-summer colour in every shade."),
]

TEAM: list[tuple[str, str]] = [
    ("Ada", "Founder"),
    ("Grace", "Head of engineering"),
    ("Linus", "Operations"),
    ("Margaret", "Quality"),
    ("Alan", "Data"),
    ("Barbara", "Customer care"),
    ("Dennis", "Warehouse"),
    ("Frances", "Design"),
]

# Order number, customer email, and lines of (product name, quantity, unit price).
ORDERS: list[tuple[str, str, list[tuple[str, int, Decimal]]]] = [
    (
        "1001",
        "ada@example.com",
        [("Golden Coffee 1", 2, Decimal("9.90")), ("Rose bouquet", 1, Decimal("22.50"))],
    ),
    ("1002", "grace@example.com", [("Smoky Tea 7", 3, Decimal("6.20"))]),
    (
        "1003",
        "linus@example.com",
        [("Rustic Pasta 12", 4, Decimal("3.40")), ("Classic Sauces 5", 2, Decimal("4.80"))],
    ),
    ("1004", "margaret@example.com", [("Grand Kitchen 30", 1, Decimal("49.00"))]),
    (
        "1005",
        "alan@example.com",
        [
            ("Tiny Ceramics 9", 6, Decimal("7.50")),
            ("Quiet Books 2", 1, Decimal("18.00")),
            ("Bright Candles 4", 3, Decimal("5.25")),
        ],
    ),
]
