"""Authoring: release student notebooks, write the student bundle, read an exercise's variants,
build the demo cohort."""
