"""Local actors: the site actor and the collectives, their stable identity and their keys."""
