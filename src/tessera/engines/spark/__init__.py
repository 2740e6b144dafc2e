"""The Apache Spark engine (imports pyspark only when opened)."""
