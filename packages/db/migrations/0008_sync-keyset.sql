CREATE INDEX "orders_updated_id_idx" ON "orders" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "products_updated_id_idx" ON "products" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "customers_updated_id_idx" ON "customers" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "message_queue_updated_id_idx" ON "message_queue" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "promotions_updated_id_idx" ON "promotions" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "tasks_updated_id_idx" ON "tasks" USING btree ("updated_at","id");