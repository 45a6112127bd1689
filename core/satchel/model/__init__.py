"""The domain model: users, indexes (model object: Stage), projects, releases and files."""
