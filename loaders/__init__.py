"""Get the Financial Transactions dataset (Kaggle or generated), convert it to typed JSON lines, and load it
into MongoDB, Firestore, DynamoDB and Kafka, with every target name read from stack outputs."""
