"""The shop app: products, pizzas, flowers, the team and orders, slow pages and fixed twins."""
